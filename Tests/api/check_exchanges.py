"""Checks every HTTP exchange the end-to-end tests recorded against the OpenAPI description of the APIs.

usage: check_exchanges.py SPEC FOLDER

FOLDER holds the JSON lines that Tests/OrchestrateTesting/APIClient.swift writes when ORCHESTRATE_API_EXCHANGES names
it (`make test` does): one exchange a line, with the server it went to (`control` or `rpc`), method, path with query,
status, content type and body. Each must match an operation of that server in SPEC, with a status, content type and
body the operation documents (openapi-core); each event of an event stream, read as `{event, data, id}` with its
data's JSON decoded, must match the stream's schema (its `contentSchema`s standing for the data's JSON). An exchange
marked `off_spec` went, on purpose, to a route the server does not have: it must match no operation and be a 404 with
an error body. Exits 1 on any mismatch, and when nothing was recorded.
"""

import base64
import copy
import glob
import json
import os
import re
import sys
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class Spec:
    def __init__(self, path):
        with open(path) as handle:
            self.document = yaml.safe_load(handle)
        self.api = OpenAPI.from_dict(self.document)
        # The events of a stream are validated with their data's JSON decoded, against this copy, in which each schema
        # of JSON text stands for the schema of what the text holds.
        decoded = decode_contents(copy.deepcopy(self.document))
        self.registry = Registry().with_resources([
            ("urn:spec", Resource.from_contents(self.document, default_specification=DRAFT202012)),
            ("urn:decoded", Resource.from_contents(decoded, default_specification=DRAFT202012)),
        ])
        self.validators = {}
        # (server, method, compiled path pattern, template, operation); concrete paths before templated ones, as
        # OpenAPI matches them.
        self.routes = []
        for template, item in self.document["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                for tag in operation.get("tags", []):
                    pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
                    self.routes.append((tag, method.upper(), pattern, template, operation))
        self.routes.sort(key=lambda route: route[3].count("{"))

    def route(self, server, method, path):
        for tag, route_method, pattern, template, operation in self.routes:
            if tag == server and route_method == method and pattern.match(path):
                return template, operation
        return None

    def has_path(self, server, path):
        return any(tag == server and pattern.match(path) for tag, _, pattern, _, _ in self.routes)

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validate(self, schema_ref, value, decoded=False):
        """The errors of `value` against the schema `schema_ref` points to (a `$ref` into the spec, or into its copy
        with decoded contents)."""
        key = json.dumps([schema_ref, decoded], sort_keys=True)
        validator = self.validators.get(key)
        if validator is None:
            schema = dict(schema_ref)
            if "$ref" in schema:
                schema["$ref"] = ("urn:decoded" if decoded else "urn:spec") + schema["$ref"]
            validator = Draft202012Validator(
                schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self.validators[key] = validator
        messages = []
        for error in validator.iter_errors(value):
            for detail in closest(error):
                messages.append(f"at /{'/'.join(map(str, detail.absolute_path))}: {detail.message}")
        return messages


def closest(error):
    """The errors that say most about `error`: for a oneOf or anyOf, those of the branch whose `const` and `enum`
    matched (the branch meant, as an event's name picks one), else the best match among the branches'."""
    if not error.context:
        return [error]
    branches = {}
    for detail in error.context:
        branches.setdefault(detail.relative_schema_path[0], []).append(detail)
    for details in branches.values():
        if all(detail.validator not in ("const", "enum") for detail in details):
            return details
    return [best_match(error.context)]


def decode_contents(node):
    """`node` with every schema of JSON text (`contentMediaType: application/json`) replaced by its `contentSchema`, or
    by `{}` (any JSON) without one: the schemas of the content decoded."""
    if isinstance(node, dict):
        if node.get("contentMediaType") == "application/json":
            return decode_contents(node.get("contentSchema", {}))
        return {key: decode_contents(value) for key, value in node.items()}
    if isinstance(node, list):
        return [decode_contents(value) for value in node]
    return node


def events(body):
    """The complete events of a Server-Sent Events body, as a client reads them (`event`, `data`, `id` as given); a
    last one cut off by the end of the read is left out."""
    found = []
    for block in body.split("\n\n")[:-1]:
        fields = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        if "data" not in fields:
            continue
        event = {name: values[-1] for name, values in fields.items() if name != "data"}
        event["data"] = "\n".join(fields["data"])
        event.setdefault("event", "message")
        found.append(event)
    return found


def check(spec, exchange):
    """The problems with one exchange (an empty list when it matches the description)."""
    server, method = exchange["server"], exchange["method"]
    url = urlsplit(exchange["path"])
    path, query = url.path, parse_qs(url.query, keep_blank_values=True)
    status, content_type = exchange["status"], exchange.get("content_type")
    body = exchange.get("body") or ""
    data = base64.b64decode(exchange["body_base64"]) if "body_base64" in exchange else body.encode()

    if exchange.get("off_spec"):
        if spec.route(server, method, path):
            return [f"marked off the spec, but {method} {path} is an operation of the {server} server"]
        problems = [] if status == 404 else [f"status {status}, expected 404 for a route the server does not have"]
        try:
            problems += spec.validate({"$ref": "#/components/schemas/ControlError"}, json.loads(data))
        except ValueError:
            problems.append("a 404 without a JSON error body")
        return problems

    found = spec.route(server, method, path)
    if found is None:
        where = "a path of the spec, but not with this method" if spec.has_path(server, path) else "no path of the spec"
        return [f"{method} {path} is not an operation of the {server} server ({where})"]
    template, operation = found
    responses = operation.get("responses", {})
    response = spec.resolve(responses.get(str(status)) or responses.get("default") or {})
    if not response:
        return [f"status {status} is not documented for {method} {template} (documented: {sorted(responses)})"]
    # Streams are read until a deadline: an event stream, JSON lines, a followed log.
    followed_log = template.endswith("/log") and "follow=" in exchange.get("path", "")
    if exchange.get("truncated") and content_type not in ("text/event-stream", "application/x-ndjson") \
            and not followed_log:
        return ["the answer was cut off, and it is not an event stream"]

    host = "http://localhost" if exchange.get("transport") != "tcp" else "http://" + exchange["address"]
    request = MockRequest(host, method.lower(), path, args={key: values[-1] for key, values in query.items()})
    content = response.get("content")
    if not content:
        return [] if not data else [f"status {status} of {method} {template} has no body, but {len(data)} bytes came"]
    if content_type == "text/event-stream":
        media = content.get(content_type)
        if media is None:
            return [f"{content_type} is not a content type of status {status} of {method} {template}"]
        problems = []
        for number, event in enumerate(events(body)):
            try:
                event["data"] = json.loads(event["data"])
            except ValueError:
                problems.append(f"event #{number} ({event['event']}): its data is not JSON: {event['data'][:120]}")
                continue
            problems += [f"event #{number} ({event['event']}): {message}"
                         for message in spec.validate(media["schema"], event, decoded=True)]
        return problems
    if content_type == "application/x-ndjson":
        media = content.get(content_type)
        if media is None:
            return [f"{content_type} is not a content type of status {status} of {method} {template}"]
        problems = []
        lines = body.split("\n")
        if exchange.get("truncated"):
            lines = lines[:-1]  # the last line may be cut off
        for number, line in enumerate(line for line in lines if line.strip()):
            try:
                value = json.loads(line)
            except ValueError:
                problems.append(f"line #{number}: not JSON: {line[:120]}")
                continue
            problems += [f"line #{number} ({value.get('event')}): {message}"
                         for message in spec.validate(media["schema"], value)]
        return problems
    try:
        spec.api.validate_response(request, MockResponse(data, status_code=status, content_type=content_type))
    except Exception as error:  # openapi-core's many error types all say what is wrong
        schema_errors = getattr(error, "schema_errors", None) or getattr(error.__cause__, "schema_errors", None)
        if schema_errors:
            return [f"{type(error).__name__} at /{'/'.join(map(str, problem.absolute_path))}: {problem.message}"
                    for problem in schema_errors]
        return [f"{type(error).__name__}: {error}"]
    return []


def main():
    spec_path, folder = sys.argv[1], sys.argv[2]
    spec = Spec(spec_path)
    exchanges = []
    for file in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        with open(file) as handle:
            exchanges += [json.loads(line) for line in handle if line.strip()]
    if not exchanges:
        print(f"check_exchanges: nothing was recorded in {folder}; were the end-to-end tests run with "
              "ORCHESTRATE_API_EXCHANGES set?", file=sys.stderr)
        return 1

    failures = 0
    covered = Counter()
    for exchange in exchanges:
        problems = check(spec, exchange)
        if not exchange.get("off_spec"):
            found = spec.route(exchange["server"], exchange["method"], urlsplit(exchange["path"]).path)
            if found:
                covered[(exchange["method"], found[0], exchange["status"])] += 1
        if problems:
            failures += 1
            via = f" via {exchange['via']}" if exchange.get("via") else ""
            print(f"MISMATCH {exchange['server']} {exchange['method']} {exchange['path']} -> {exchange['status']} "
                  f"({exchange.get('content_type')}){via}, in test {exchange.get('test')}:", file=sys.stderr)
            for problem in problems[:8]:
                print(f"    {problem}", file=sys.stderr)
            if len(problems) > 8:
                print(f"    … and {len(problems) - 8} more", file=sys.stderr)
            print(f"    body: {(exchange.get('body') or '')[:300]!r}", file=sys.stderr)

    operations = {(method, template) for _, method, _, template, _ in spec.routes}
    exercised = {(method, template) for method, template, _ in covered}
    print(f"check_exchanges: {len(exchanges)} exchanges, {len(exchanges) - failures} match the description, "
          f"{failures} do not; {len(exercised)} of {len(operations)} operations exercised")
    for method, template in sorted(operations - exercised, key=lambda pair: (pair[1], pair[0])):
        print(f"    not exercised by the tests: {method} {template}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
