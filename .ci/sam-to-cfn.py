#!/usr/bin/env python3
"""Expands a SAM template to plain CloudFormation, offline (aws-sam-translator with its bundled
managed-policy map), so that cfn-lint and checkov see the IAM statements and resources SAM
generates. Usage: sam-to-cfn.py template.yaml out.json"""
import json
import sys

from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class BundledPolicies:
    def load(self):
        return get_bundled_managed_policy_map("aws")


def main(src, dst):
    with open(src, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # DefinitionUri is a local file that `sam build`/`sam deploy` inline; inline it the same way
    # so the expanded template is complete.
    for res in template.get("Resources", {}).values():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            with open(props.pop("DefinitionUri"), encoding="utf-8") as f:
                props["Definition"] = json.load(f)
        # CodeUri is a local directory that `sam build` compiles and `sam deploy` uploads.
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://rsqlflow-artifacts/function.zip"
    out = transform(template, {}, BundledPolicies())
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    import os
    os.replace(tmp, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
