"""Runs a definition on moto's Step Functions interpreter (execute_state_machine on) and prints
the best wall time in ms, from StartExecution until DescribeExecution reports it finished, and
the moto server's peak RSS."""
import json, os, socket, subprocess, sys, time, urllib.request

import boto3

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

def main():
    def_path, input_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    definition = open(def_path).read()
    payload = open(input_path).read() if input_path else "{}"
    port = free_port()
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"),
                               "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        req = urllib.request.Request(url + "/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req)
        sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        arn = sfn.create_state_machine(name="bench", definition=definition,
                                       roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
        best, status = None, None
        for i in range(runs):
            t0 = time.perf_counter()
            ex = sfn.start_execution(stateMachineArn=arn, name=f"run{i}", input=payload)["executionArn"]
            deadline = t0 + 600
            while True:
                d = sfn.describe_execution(executionArn=ex)
                status = d["status"]
                if status != "RUNNING" or time.perf_counter() > deadline:
                    break
                time.sleep(0.01)
            ms = (time.perf_counter() - t0) * 1000
            best = ms if best is None else min(best, ms)
        rss = 0
        with open(f"/proc/{server.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1])
        print(json.dumps({"ms": best, "status": status, "peak_kb": rss}))
    finally:
        server.terminate()
        server.wait()

main()
