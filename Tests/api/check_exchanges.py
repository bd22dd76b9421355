"""Checks every HTTP exchange the end-to-end tests recorded against the OpenAPI description of the APIs.

usage: check_exchanges.py SPEC FOLDER

FOLDER holds the JSON lines that Tests/OrchestrateTesting/APIClient.swift writes when ORCHESTRATE_API_EXCHANGES names
it (`make test` does): one exchange a line, with the server it went to (`control` or `rpc`), method, path with query,
status, content type and body. Each must match an operation of that server in SPEC, with a status, content type and
body the operation documents (openapi-core); each event of an event stream must carry the data its event's schema
says (the media types' `x-events` and `x-topics`). An exchange marked `off_spec` went, on purpose, to a route the
server does not have: it must match no operation and be a 404 with an error body. Exits 1 on any mismatch, and when
nothing was recorded.
"""

import base64
import fnmatch
import glob
import json
import os
import re
import sys
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import yaml
from jsonschema import Draft202012Validator
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
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:spec", resource)
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

    def validate(self, schema_ref, value):
        """The errors of `value` against the schema `schema_ref` points to (a `$ref` into the spec)."""
        key = json.dumps(schema_ref, sort_keys=True)
        validator = self.validators.get(key)
        if validator is None:
            schema = dict(schema_ref)
            if "$ref" in schema:
                schema["$ref"] = "urn:spec" + schema["$ref"]
            validator = Draft202012Validator(
                schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self.validators[key] = validator
        return [error.message for error in validator.iter_errors(value)]


def events(body):
    """The complete events of a Server-Sent Events body (a last one cut off by the end of the read is left out)."""
    found = []
    for block in body.split("\n\n")[:-1]:
        fields = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        if "data" in fields:
            found.append((fields.get("event", ["message"])[0], "\n".join(fields["data"]), fields.get("id", [None])[0]))
    return found


def check(spec, exchange):
    """The problems with one exchange (an empty list when it matches the description)."""
    server, method = exchange["server"], exchange["method"]
    url = urlsplit(exchange["path"])
    path, query = url.path, parse_qs(url.query, keep_blank_values=True)
    status, content_type = exchange["status"], exchange.get("content_type")
    body = exchange.get("body")
    data = base64.b64decode(exchange["body_base64"]) if "body_base64" in exchange else body.encode()

    if exchange.get("off_spec"):
        if spec.route(server, method, path):
            return [f"marked off the spec, but {method} {path} is an operation of the {server} server"]
        problems = [] if status == 404 else [f"status {status}, expected 404 for a route no server has"]
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
    if exchange.get("truncated") and content_type != "text/event-stream":
        return ["the answer was cut off, and it is not an event stream"]

    host = "http://localhost" if exchange.get("transport") != "tcp" else "http://" + exchange["address"]
    request = MockRequest(host, method.lower(), path, args={key: values[-1] for key, values in query.items()})
    content = response.get("content")
    if not content:
        return [] if not data else [f"status {status} of {method} {template} has no body, but {len(data)} bytes came"]
    # openapi-core reads an event stream's body as text, and every other as bytes.
    payload = body if content_type == "text/event-stream" else data
    try:
        spec.api.validate_response(request, MockResponse(payload, status_code=status, content_type=content_type))
    except Exception as error:  # openapi-core's many error types all say what is wrong
        schema_errors = getattr(error, "schema_errors", None) or getattr(error.__cause__, "schema_errors", None)
        if schema_errors:
            return [f"{type(error).__name__} at /{'/'.join(map(str, problem.absolute_path))}: {problem.message}"
                    for problem in schema_errors]
        return [f"{type(error).__name__}: {error}"]

    problems = []
    if content_type == "text/event-stream":
        media = content["text/event-stream"]
        by_event, by_topic = media.get("x-events"), media.get("x-topics")
        for name, text, _ in events(body):
            try:
                value = json.loads(text)
            except ValueError:
                problems.append(f"event {name}: its data is not JSON: {text[:120]}")
                continue
            if by_event is not None:
                schema = by_event.get(name)
                if schema is None:
                    problems.append(f"event {name} is not one of the stream's events ({sorted(by_event)})")
                    continue
                problems += [f"event {name}: {message}" for message in spec.validate(schema, value)]
            for pattern, schema in (by_topic or {}).items():
                if fnmatch.fnmatchcase(name, pattern):
                    problems += [f"event {name}: {message}" for message in spec.validate(schema, value)]
    return problems


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
            for problem in problems:
                print(f"    {problem}", file=sys.stderr)
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
