"""Schemathesis hooks for Radar (server/tests/api/openapi.rs): every generated
request is signed as the document says, `rand_str = md5(timestamp + token)`,
by the customer on gongzhonghao/… paths and by the rep on qiyeweixin/….
The ids and tokens come from the environment (RADAR_FUZZ_*)."""

import hashlib
import os
import time

import schemathesis


@schemathesis.auth()
class RadarSignature:
    def get(self, case, context):
        return {
            "customer": (os.environ["RADAR_FUZZ_CUSTOMER_ID"], os.environ["RADAR_FUZZ_CUSTOMER_TOKEN"]),
            "rep": (os.environ["RADAR_FUZZ_REP_ID"], os.environ["RADAR_FUZZ_REP_TOKEN"]),
        }

    def set(self, case, data, context):
        path = case.operation.path
        if not path.startswith("/zhugeleida/"):
            return
        user_id, token = data["rep" if "/qiyeweixin/" in path else "customer"]
        timestamp = str(int(time.time() * 1000))
        query = dict(case.query or {})
        query.update(
            user_id=user_id,
            timestamp=timestamp,
            rand_str=hashlib.md5((timestamp + token).encode()).hexdigest(),
        )
        case.query = query
