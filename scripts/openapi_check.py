#!/usr/bin/env python3
"""Checks of Radar's OpenAPI document, run by server/tests/api/openapi.rs with
the venv of scripts/py-tools.sh.

  openapi_check.py validate DOC.json
      the document is valid OpenAPI 3.1 (openapi-spec-validator)
  openapi_check.py answers DOC.json ANSWERS.json
      every recorded answer ({"method","path","status","body"}) of a documented
      operation matches the document's schema for that operation and status;
      prints how many were checked and fails on the first mismatches
  openapi_check.py frames DOC.json FRAMES.json
      every recorded socket frame ({"feed","dir","frame","valid"}) fits the
      schema `x-websockets` gives for its feed and direction (`send`: the
      server's, `receive`: the client's), or, with "valid": false, does not;
      prints each feed's frame kinds (the `oneOf` titles) never seen as
      "unseen FEED KIND"
  openapi_check.py webhooks DOC.json PAYLOADS.json
      every delivered webhook body ({"body","valid"}) fits the document's
      `webhooks` entry for its type (or, with "valid": false, does not), and
      every documented type was seen
"""

import json
import re
import sys

import jsonschema


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(doc, schema):
    # Local `$ref`s (#/components/...) resolve against the root we give.
    root = {"allOf": [schema], "components": doc["components"]}
    return jsonschema.Draft202012Validator(root)


def templates(doc):
    out = []
    for path, item in doc["paths"].items():
        rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        out.append((rx, path, item))
    return out


def errors_of(v, instance, limit=3):
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
        for e in list(v.iter_errors(instance))[:limit]
    ]


def answers(doc, samples):
    tpl = templates(doc)
    checked, skipped, bad = 0, [], []
    for s in samples:
        method, path, status, body = s["method"].lower(), s["path"], s["status"], s["body"]
        if path.endswith("/") and path != "/":
            path = path.rstrip("/")
        matches = [(p, item) for rx, p, item in tpl if rx.match(path)]
        # A literal path wins over a template (`…/contact/query_num` is not `…/{x}`).
        matches.sort(key=lambda m: m[0].count("{"))
        op = next((item[method] for _, item in matches if method in item), None)
        if op is None:
            skipped.append(f"{method.upper()} {path}")
            continue
        resp = op["responses"].get(str(status))
        if resp is None:
            bad.append(f"{method.upper()} {path}: HTTP {status} is not documented")
            continue
        content = resp.get("content", {})
        media = "application/json" if "application/json" in content else next(iter(content), None)
        if media is None:
            checked += 1
            continue
        errs = errors_of(validator(doc, content[media]["schema"]), body)
        checked += 1
        if errs:
            bad.append(f"{method.upper()} {path} HTTP {status}: {json.dumps(body, ensure_ascii=False)[:400]}\n    " + "\n    ".join(errs))
    print(f"answers: {checked} checked against the document, {len(skipped)} of undocumented operations")
    for b in bad:
        print("MISMATCH", b)
    return checked, bad


def frames(doc, samples):
    sockets = doc["x-websockets"]
    seen, bad, checked = {}, [], 0
    for s in samples:
        feed, direction, frame = s["feed"], s["dir"], s["frame"]
        expect = s.get("valid", True)
        schema = sockets[feed][direction]
        errs = errors_of(validator(doc, schema), frame)
        checked += 1
        shown = json.dumps(frame, ensure_ascii=False)[:400]
        if expect and errs:
            bad.append(f"{feed} {direction}: {shown}\n    " + "\n    ".join(errs))
        elif not expect and not errs:
            bad.append(f"{feed} {direction}: a frame the server refuses fits the schema: {shown}")
        if expect and not errs and direction == "send":
            for branch in schema["oneOf"]:
                if not errors_of(validator(doc, branch), frame, 1):
                    seen.setdefault(feed, set()).add(branch["title"])
    print(f"frames: {checked} checked against x-websockets")
    for feed, item in sockets.items():
        for branch in item["send"]["oneOf"]:
            if branch["title"] not in seen.get(feed, set()):
                print(f"unseen {feed} {branch['title']}")
    for b in bad:
        print("MISMATCH", b)
    return checked, bad


def webhooks(doc, samples):
    hooks = doc["webhooks"]
    seen, bad, checked = set(), [], 0
    for s in samples:
        body, expect = s["body"], s.get("valid", True)
        kind = body.get("type") if isinstance(body, dict) else None
        shown = json.dumps(body, ensure_ascii=False)[:400]
        if kind not in hooks:
            if expect:
                bad.append(f"an undocumented webhook type: {shown}")
            continue
        schema = hooks[kind]["post"]["requestBody"]["content"]["application/json"]["schema"]
        errs = errors_of(validator(doc, schema), body)
        checked += 1
        if expect and errs:
            bad.append(f"{kind}: {shown}\n    " + "\n    ".join(errs))
        elif not expect and not errs:
            bad.append(f"{kind}: a malformed payload fits the schema: {shown}")
        if expect and not errs:
            seen.add(kind)
    print(f"webhooks: {checked} payloads checked against the document")
    for kind in hooks:
        if kind not in seen:
            bad.append(f"no delivery of {kind} was checked")
    for b in bad:
        print("MISMATCH", b)
    return checked, bad


def main(argv):
    if len(argv) >= 2 and argv[0] == "validate":
        from openapi_spec_validator import validate

        doc = load(argv[1])
        validate(doc)
        print(f"valid OpenAPI {doc['openapi']}: {len(doc['paths'])} paths")
        return 0
    if len(argv) >= 3 and argv[0] == "answers":
        checked, bad = answers(load(argv[1]), load(argv[2]))
        return 1 if bad or checked == 0 else 0
    if len(argv) >= 3 and argv[0] == "frames":
        checked, bad = frames(load(argv[1]), load(argv[2]))
        return 1 if bad or checked == 0 else 0
    if len(argv) >= 3 and argv[0] == "webhooks":
        checked, bad = webhooks(load(argv[1]), load(argv[2]))
        return 1 if bad or checked == 0 else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
