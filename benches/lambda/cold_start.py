"""The Python equivalent of a framework Lambda's cold start: import boto3, build the same
clients, then ask the Runtime API for the first event (the moment the benchmark measures)."""
import os
import sys
import urllib.request

import boto3

CLIENTS = {
    "submit-job": ["batch", "s3"],
    "check-job": ["stepfunctions", "logs"],
    "notify": ["stepfunctions", "sns", "batch"],
    "start-workflow": ["stepfunctions"],
}

clients = [boto3.client(name) for name in CLIENTS[sys.argv[1]]]
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next", timeout=30).read()
