#!/usr/bin/python3
"""A third-party WhaleShark client in Python, built from the .proto files alone.

It signs its calls with a userSign made here (spec §6.2: zlib-deflated JSON
with an HMAC-SHA256 signature, in base64 with `+`->`*`, `/`->`-`, `=`->`_`),
imports two users as an app admin, makes them friends and checks the
friendship both ways. Stubs come from Debian's protoc:

  protoc -I proto -I node_modules/google-proto-files --python_out=OUT --grpc_python_out=OUT \
    --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin proto/whaleshark/v1/*.proto \
    google/api/annotations.proto google/api/http.proto

Usage: client.py STUBS_DIR HOST:PORT APP_ID PRIVATE_KEY ADMIN_ID USER_A USER_B
Prints one JSON line with what it saw; exits non-zero on any failure.
"""
import base64
import hashlib
import hmac
import json
import sys
import time
import zlib


def user_sign(app_id: int, identifier: str, private_key: str, expire: int = 3600) -> str:
    now = int(time.time())
    content = (
        f"TLS.identifier:{identifier}\nTLS.appId:{app_id}\n"
        f"TLS.expireTime:{now}\nTLS.expire:{expire}\n"
    )
    sig = base64.b64encode(
        hmac.new(private_key.encode(), content.encode(), hashlib.sha256).digest()
    ).decode()
    document = {
        "TLS.expire": expire,
        "TLS.appId": app_id,
        "TLS.expireTime": now,
        "TLS.identifier": identifier,
        "TLS.sig": sig,
    }
    packed = base64.b64encode(zlib.compress(json.dumps(document, separators=(",", ":")).encode()))
    return packed.decode().replace("+", "*").replace("/", "-").replace("=", "_")


def main() -> int:
    stubs, address, app_id, key, admin, user_a, user_b = sys.argv[1:8]
    app_id = int(app_id)
    sys.path.insert(0, stubs)
    import grpc
    from whaleshark.v1 import enums_pb2, friendship_service_pb2, friendship_service_pb2_grpc
    from whaleshark.v1 import model_pb2, user_service_pb2, user_service_pb2_grpc

    def metadata(identifier: str):
        return (
            ("appid", str(app_id)),
            ("identifier", identifier),
            ("usersign", user_sign(app_id, identifier, key)),
        )

    with grpc.insecure_channel(address) as channel:
        users = user_service_pb2_grpc.UserServiceStub(channel)
        friends = friendship_service_pb2_grpc.FriendshipServiceStub(channel)
        imported = users.ImportUsers(
            user_service_pb2.ImportUsersRequest(
                app_id=app_id,
                operater=admin,
                user_data=[model_pb2.UserData(user_id=u, nick_name=u.upper()) for u in (user_a, user_b)],
            ),
            metadata=metadata(admin),
        )
        added = friends.AddFriend(
            friendship_service_pb2.AddFriendRequest(
                app_id=app_id,
                operater=user_a,
                from_id=user_a,
                to_item=friendship_service_pb2.FriendItem(to_id=user_b, remark="from python"),
            ),
            metadata=metadata(user_a),
        )
        checked = friends.CheckFriend(
            friendship_service_pb2.CheckFriendRequest(
                app_id=app_id,
                operater=user_a,
                from_id=user_a,
                to_ids=[user_b],
                check_type=enums_pb2.CHECK_FRIENDSHIP_TYPE_BOTH,
            ),
            metadata=metadata(user_a),
        )
        try:
            users.GetSingleUserInfo(
                user_service_pb2.GetSingleUserInfoRequest(app_id=app_id, operater=user_a, user_id=user_a),
                metadata=(("appid", str(app_id)), ("identifier", user_a), ("usersign", "bad")),
            )
            refused = None
        except grpc.RpcError as error:
            trailers = dict(error.trailing_metadata() or ())
            refused = {"status": error.code().name, "code": trailers.get("whaleshark-code")}

    print(
        json.dumps(
            {
                "imported": list(imported.success_id),
                "requestSent": added.request_sent,
                "both": [r.status for r in checked.results],
                "refused": refused,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
