"""Schemathesis hooks for Radar (server/tests/api/openapi.rs).

Every generated request is signed as the document says, `rand_str =
md5(timestamp + token)`, by the customer on gongzhonghao/… paths and by the
rep on qiyeweixin/…. So that the run reaches past the relation and existence
checks, most generated ids are swapped for the fixture's real ones (the rep,
the customer, the company, an article, an activity): the ids and tokens come
from the environment (RADAR_FUZZ_*). The admin API gets the bearer token
(RADAR_FUZZ_ADMIN_TOKEN) and, often, the real ids; the sign-in pages the real
company."""

import hashlib
import os
import random
import time

import schemathesis

REAL = random.Random(7)


def env(name):
    return os.environ[f"RADAR_FUZZ_{name}"]


def real_ids(path):
    rep, customer = int(env("REP_ID")), int(env("CUSTOMER_ID"))
    ids = {
        "u_id": rep,
        "uid": rep,
        "customer_id": customer,
        "company_id": int(env("COMPANY_ID")),
        "article_id": int(env("ARTICLE_ID")),
        # In a body, `user_id` is the signing rep's (the query's is signed anew below).
        "user_id": rep,
    }
    if "/article/" in path:
        o_id = int(env("ARTICLE_ID"))
    elif "/plugin_report/" in path:
        o_id = int(env("ACTIVITY_ID"))
    elif "/delete_tag/" in path:
        o_id = None
    else:
        o_id = customer
    return ids, o_id


def swap(fields, ids):
    if isinstance(fields, dict):
        for k, v in ids.items():
            if k in fields and REAL.random() < 0.7:
                fields[k] = v if isinstance(fields[k], int) else str(v)


def admin(case, path):
    """The bearer token, and real ids for most requests (else a made-up id
    answers 422/404 and the run never creates a user or a relation)."""
    ids = {
        "company_id": int(env("COMPANY_ID")),
        "user_id": int(env("REP_ID")),
        "customer_id": int(env("CUSTOMER_ID")),
    }
    swap(case.body, ids)
    if case.path_parameters and "id" in case.path_parameters and REAL.random() < 0.7:
        # Re-keying the fixture's own rep or customer would cut the signed
        # calls off; these two exist to be re-keyed.
        case.path_parameters["id"] = int(
            env("ROTATE_CUSTOMER_ID" if "/customers/" in path else "ROTATE_REP_ID")
        )


@schemathesis.hook
def before_call(context, case, **kwargs):
    """The admin token on every admin call, set last: a wrong or missing one
    spends the API's failure budget, after which it answers 429 to everyone
    and the run would exercise nothing else there (the refusals have their
    own tests in admin_api.rs)."""
    token = os.environ.get("RADAR_FUZZ_ADMIN_TOKEN")
    if token and case.operation.path.startswith("/admin/api/v1/"):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.auth()
class RadarSignature:
    def get(self, case, context):
        return {
            "customer": (env("CUSTOMER_ID"), env("CUSTOMER_TOKEN")),
            "rep": (env("REP_ID"), env("REP_TOKEN")),
        }

    def set(self, case, data, context):
        path = case.operation.path
        if path.startswith("/admin/api/v1/"):
            admin(case, path)
            return
        if path.startswith("/auth/"):
            if case.path_parameters and REAL.random() < 0.7:
                case.path_parameters["company_id"] = int(env("COMPANY_ID"))
            return
        if not path.startswith("/zhugeleida/"):
            return
        ids, o_id = real_ids(path)
        query = dict(case.query or {})
        swap(query, ids)
        swap(case.body, ids)
        if case.path_parameters and "o_id" in case.path_parameters and o_id and REAL.random() < 0.7:
            case.path_parameters["o_id"] = o_id
        user_id, token = data["rep" if "/qiyeweixin/" in path else "customer"]
        timestamp = str(int(time.time() * 1000))
        query.update(
            user_id=user_id,
            timestamp=timestamp,
            rand_str=hashlib.md5((timestamp + token).encode()).hexdigest(),
        )
        case.query = query
