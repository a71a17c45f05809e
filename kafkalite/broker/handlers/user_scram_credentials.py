"""DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51), v0 as Kafka 4.4.

The rules and answers are Kafka's (ScramImage.describe, ScramControlManager.alterCredentials:
broker/scram_store.py); this module adds the authorization Kafka does first: DESCRIBE, resp. ALTER,
on the CLUSTER resource.

Refused Describe: CLUSTER_AUTHORIZATION_FAILED at the top and one result per user asked for, with
an empty user name, as Kafka's getErrorResponse builds it. Kafka never answers a refused Describe of
all users (its error response walks a null list), so the client's request times out; kafkalite
answers CLUSTER_AUTHORIZATION_FAILED with no results, which kafka-python and the Java client report
as such. (confluent-kafka 2.16 crashes on any failure of a describe-all, against Kafka as here.)
Refused Alter: every user named, sorted, with CLUSTER_AUTHORIZATION_FAILED and a message of Kafka's
form (Kafka's own prints its internal request object).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.scram_store import Upsertion
from kafkalite.errors import ErrorCode

DENIED = int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)


@api(50, "DescribeUserScramCredentials", 0, 0)
async def handle_describe_user_scram_credentials(ctx: RequestContext, request: Any) -> dict[str, Any]:
    names = None if request.users is None else [user.name for user in request.users]
    if not authorized_cluster(ctx, Operation.DESCRIBE):
        return {
            "throttle_time_ms": 0,
            "error_code": DENIED,
            "error_message": None,
            "results": [
                {"user": "", "error_code": DENIED, "error_message": None, "credential_infos": []}
                for _ in names or ()
            ],
        }
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": "",  # Kafka's default, not null
        "results": ctx.state.scram.describe(names),
    }


@api(51, "AlterUserScramCredentials", 0, 0)
async def handle_alter_user_scram_credentials(ctx: RequestContext, request: Any) -> dict[str, Any]:
    deletions = [(d.name, d.mechanism) for d in request.deletions]
    upsertions = [
        Upsertion(u.name, u.mechanism, u.iterations, bytes(u.salt), bytes(u.salted_password))
        for u in request.upsertions
    ]
    if not authorized_cluster(ctx, Operation.ALTER):
        message = f"Request AlterUserScramCredentials from {ctx.principal} needs ALTER permission."
        users = sorted({name for name, _m in deletions} | {u.name for u in upsertions})
        return {
            "throttle_time_ms": 0,
            "results": [{"user": user, "error_code": DENIED, "error_message": message} for user in users],
        }
    results = ctx.state.scram.alter(deletions, upsertions)
    return {
        "throttle_time_ms": 0,
        "results": [{"user": user, "error_code": code, "error_message": message} for user, code, message in results],
    }
