"""A local emulator of LiveKit's Twirp server API, driven through the real `livekit-api` client.

What it is
----------
An aiohttp server on 127.0.0.1 (random free port) that speaks Twirp like LiveKit does:
`POST /twirp/livekit.<Service>/<Method>` with a protobuf (or JSON) body, a
`Authorization: Bearer <JWT>` header verified with `livekit.api.TokenVerifier`, the grant
each method needs checked, and errors answered as Twirp JSON
(`{"code": "permission_denied", "msg": "..."}`) with the matching HTTP status, so the client
raises `livekit.api.TwirpError` exactly as it would against LiveKit.

Built in:
- `livekit.SIP` trunk and dispatch-rule CRUD with in-memory state, LiveKit's validation and
  conflict rules (ported from livekit/protocol `sip.ValidateTrunks` / `ValidateDispatchRules`;
  rejected with `invalid_argument` and LiveKit's message text). Codes, messages and
  read-back shapes are checked against a real livekit-server v1.13.5 by
  `tests/e2e/test_twirp_contract.py`: every probe there runs against both.
- Simple defaults for `livekit.SIP/{CreateSIPParticipant,TransferSIPParticipant}`,
  `livekit.RoomService/{CreateRoom,ListRooms,DeleteRoom,ListParticipants,GetParticipant,
  RemoveParticipant,MoveParticipant,UpdateParticipant,UpdateSubscriptions}` and
  `livekit.AgentDispatchService/{CreateDispatch,DeleteDispatch,ListDispatch}` over a small
  room/participant model (`add_participant`).

Using it
--------
    async with LiveKitEmulator() as server:            # or the `livekit_server` fixture
        async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
            ...
        server.calls                                     # every call: method + decoded request
        server.calls_to("livekit.SIP/CreateSIPInboundTrunk")
        server.mutating_calls()                          # anything but List*/Get*

Override or add a method per test (handler gets the decoded request, returns the response
message, may be async, may raise `TwirpFault`):

    server.on("livekit.SIP/TransferSIPParticipant",
              lambda req: (_ for _ in ()).throw(TwirpFault("unavailable", "busy")))

For a method the emulator does not know yet, pass `request_type=` and `response_type=`.
Fixtures: import `livekit_server` from this module into a conftest.py.
"""

from __future__ import annotations

import inspect
import json
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit import api
from livekit.api.access_token import Claims

DEFAULT_KEY = "emulator-key"
DEFAULT_SECRET = "emulator-secret-0123456789abcdef0123456789"

_HTTP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}
_READ_ONLY_PREFIXES = ("List", "Get")

Handler = Callable[[Any], Message | Awaitable[Message]]
GrantCheck = Callable[[Claims, Any], str | None]


class TwirpFault(Exception):
    """Raise from a handler to answer with a Twirp error (`code` from twirp's list)."""

    def __init__(
        self, code: str, msg: str, meta: dict[str, str] | None = None, *, plain: bool = False
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.meta = code, msg, meta or {}
        self.plain = plain
        """Answer `msg` as text/plain, not a Twirp JSON error (what livekit-server does for a
        token it cannot verify: the client then sees code `unknown`)."""


@dataclass
class RecordedCall:
    """One request as the emulator saw it."""

    method: str
    """`livekit.<Service>/<Method>`"""
    request: Any
    """The decoded protobuf request (None when it could not be decoded)."""
    error: str | None = None
    """The Twirp error code answered, or None on success."""

    @property
    def mutating(self) -> bool:
        return not self.method.split("/", 1)[1].startswith(_READ_ONLY_PREFIXES)


@dataclass
class _Route:
    request_type: type[Message]
    response_type: type[Message]
    handler: Handler
    grant: GrantCheck
    validate: Callable[[Any], None] | None = None
    """The server's own request validation: runs before the handler, and keeps running when
    a test overrides the handler with `on()` (a test stands in for the bridge, not for
    livekit-server's checks)."""


# ----- grant checks: return None when allowed, else the reason --------------------------


def _sip_admin(claims: Claims, _req: Any) -> str | None:
    return None if claims.sip and claims.sip.admin else "requires SIP admin grant"


def _sip_call(claims: Claims, _req: Any) -> str | None:
    return None if claims.sip and claims.sip.call else "requires SIP call grant"


def _sip_call_room_admin(claims: Claims, req: Any) -> str | None:
    return _sip_call(claims, req) or _room_admin(claims, req)


def _room_admin(claims: Claims, _req: Any) -> str | None:
    return None if claims.video and claims.video.room_admin else "requires roomAdmin grant"


def _room_create(claims: Claims, _req: Any) -> str | None:
    return None if claims.video and claims.video.room_create else "requires roomCreate grant"


def _room_list(claims: Claims, _req: Any) -> str | None:
    return None if claims.video and claims.video.room_list else "requires roomList grant"


_SIP_TO_TWIRP = {
    400: "invalid_argument",
    401: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    407: "unauthenticated",
    408: "deadline_exceeded",
    480: "resource_exhausted",
    486: "resource_exhausted",
    487: "aborted",
    500: "failed_precondition",
    502: "failed_precondition",
    503: "failed_precondition",
    504: "deadline_exceeded",
    600: "resource_exhausted",
    603: "permission_denied",
    604: "not_found",
}
"""livekit/protocol `sipCodeToGRPCCode` (the codes a real server answers a refused INVITE
with), for the ones the product meets."""


def sip_status_fault(code: int, status: str) -> TwirpFault:
    """What livekit-server answers CreateSIPParticipant when the callee refuses the INVITE
    (checked against a real bridge and phone in tests/e2e): the code from LiveKit's table, the
    bridge's message, and the SIP status in the error metadata."""
    twirp = _SIP_TO_TWIRP.get(
        code,
        "invalid_argument"
        if code < 500
        else "failed_precondition"
        if code < 600
        else "invalid_argument",
    )
    # livekit-sip's outbound.go words the few codes it expects differently from the rest
    expected = code in (400, 404, 480, 486, 488)
    what = "INVITE failed" if expected else "unexpected status from INVITE response"
    return TwirpFault(
        twirp,
        f"twirp error unknown: {what}: sip status: {code}: {status}",
        {"sip_status_code": str(code), "sip_status": status},
    )


def sip_timeout_fault() -> TwirpFault:
    """livekit-server's answer when nobody answers within the ringing timeout, and equally when
    nothing answers at the trunk's address at all (v1.13.5 + livekit-sip v1.11.0): Twirp
    `canceled` (HTTP 408) without any SIP status."""
    return TwirpFault("canceled", "twirp error unknown: sip request timed out")


def _check_hostname(value: str, field: str, *, required: bool = False) -> None:
    """livekit/protocol `validateHostnameFormat`: a host[:port], never a SIP URI."""
    if required and not value:
        raise TwirpFault("invalid_argument", "no outbound hostname specified")
    if "transport=" in value:
        raise TwirpFault("invalid_argument", f"{field} should not contain transport parameter")
    if any(c in value for c in "@;") or value.startswith(("sip:", "sips:")):
        raise TwirpFault("invalid_argument", f"{field} should be a hostname or IP, not SIP URI")


def _q(value: str) -> str:
    """Go's %q for the plain strings LiveKit quotes in its messages."""
    return json.dumps(value)


def _go_list(values: list[str]) -> str:
    """Go's %q of a []string (`["a" "b"]`), or `<any>` when empty (livekit/protocol)."""
    return "[" + " ".join(_q(v) for v in values) + "]" if values else "<any>"


def _check_outbound(info: api.SIPOutboundTrunkInfo) -> None:
    """livekit/protocol `SIPOutboundTrunkInfo.ValidateResult`, in its order."""
    if not info.numbers:
        raise TwirpFault("invalid_argument", "no trunk numbers specified")
    if not info.address:
        raise TwirpFault("invalid_argument", "no outbound address specified")
    _check_hostname(info.address, "trunk address")
    _check_hostname(info.from_host, "from_host")


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def _norm(number: str) -> str:
    return number if not number or number.startswith("+") else "+" + number


def _apply_list_update(current: list[str], update: api.ListUpdate) -> list[str]:
    out = [] if update.clear else list(current)
    if update.set:
        out = list(update.set)
    out = [v for v in out if v not in set(update.remove)]
    out.extend(v for v in update.add if v not in out)
    return out


def _replaced_or_patched(current: Any, req: Any, info: Any) -> Any:
    """Apply an Update*Request's `replace` or partial `update` action to a copy of `current`."""
    action = req.WhichOneof("action")
    if action == "replace":
        info.CopyFrom(req.replace)
    elif action == "update":
        info.CopyFrom(current)
        _apply_partial(info, req.update)
    else:
        raise TwirpFault("invalid_argument", "missing or unsupported update action")
    return info


def _apply_partial(info: Any, update: Any) -> None:
    """Apply a SIP*Update message: only fields present in the update change."""
    for fd in update.DESCRIPTOR.fields:
        name = fd.name
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            if getattr(update, name):  # LiveKit: a non-empty map replaces the old one
                getattr(info, name).clear()
                getattr(info, name).update(getattr(update, name))
            continue
        if not update.HasField(name):
            continue
        value = getattr(update, name)
        if isinstance(value, api.ListUpdate):
            new = _apply_list_update(list(getattr(info, name)), value)
            del getattr(info, name)[:]
            getattr(info, name).extend(new)
        elif fd.message_type is not None:
            getattr(info, name).CopyFrom(value)
        else:
            setattr(info, name, value)


class LiveKitEmulator:
    """See the module docstring. State is public for seeding and asserting."""

    CONFLICT_CODE = "invalid_argument"

    def __init__(
        self,
        api_key: str = DEFAULT_KEY,
        api_secret: str = DEFAULT_SECRET,
        *,
        self_hosted: bool = False,
    ) -> None:
        self.self_hosted = self_hosted
        """Answer as the open-source livekit-server v1.13.5 does where it differs from Cloud
        (checked by tests/e2e/test_twirp_contract.py): MoveParticipant is not implemented and
        TransferSIPParticipant answers an empty body. Otherwise Cloud's documented behaviour
        (MoveParticipant moves, transfers report their status), not checked against Cloud."""
        self.api_key = api_key
        self.api_secret = api_secret
        self.calls: list[RecordedCall] = []
        self.inbound: dict[str, api.SIPInboundTrunkInfo] = {}
        self.outbound: dict[str, api.SIPOutboundTrunkInfo] = {}
        self.rules: dict[str, api.SIPDispatchRuleInfo] = {}
        self.rooms: dict[str, api.Room] = {}
        self.participants: dict[str, dict[str, api.ParticipantInfo]] = {}
        self.dispatches: dict[str, api.AgentDispatch] = {}
        self._routes: dict[str, _Route] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._install_defaults()

    # ----- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET for this emulator."""
        return {
            "LIVEKIT_URL": self.url,
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
        }

    async def start(self) -> LiveKitEmulator:
        app = web.Application()
        app.router.add_post("/twirp/{service}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # a random free port, loopback only
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LiveKitEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ----- extension and inspection ------------------------------------------------------

    def on(
        self,
        method: str,
        handler: Handler,
        *,
        request_type: type[Message] | None = None,
        response_type: type[Message] | None = None,
        grant: GrantCheck | None = None,
    ) -> None:
        """Register or override `livekit.<Service>/<Method>`.

        For a known method only `handler` is needed; types and grant check are kept.
        """
        known = self._routes.get(method)
        if known is None and (request_type is None or response_type is None):
            raise ValueError(f"{method} is not built in: pass request_type and response_type")
        self._routes[method] = _Route(
            request_type or known.request_type,  # type: ignore[union-attr]
            response_type or known.response_type,  # type: ignore[union-attr]
            handler,
            grant or (known.grant if known else _room_admin),
            known.validate if known else None,
        )

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def mutating_calls(self) -> list[RecordedCall]:
        """Calls other than List*/Get* (failed ones included)."""
        return [c for c in self.calls if c.mutating]

    def reset_calls(self) -> None:
        self.calls.clear()

    def add_participant(
        self,
        room: str,
        identity: str,
        *,
        kind: int = api.ParticipantInfo.Kind.STANDARD,
        attributes: dict[str, str] | None = None,
    ) -> api.ParticipantInfo:
        """Seed a participant (and its room) for Room/SIP-participant tests."""
        self.rooms.setdefault(room, api.Room(name=room, sid=_new_id("RM_")))
        p = api.ParticipantInfo(
            identity=identity,
            sid=_new_id("PA_"),
            kind=kind,
            state=api.ParticipantInfo.State.ACTIVE,
            attributes=attributes or {},
        )
        self.participants.setdefault(room, {})[identity] = p
        return p

    # ----- HTTP --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = f"{request.match_info['service']}/{request.match_info['method']}"
        body = await request.read()
        route = self._routes.get(method)
        call = RecordedCall(method, None)
        self.calls.append(call)
        try:
            if route is None:
                raise TwirpFault("bad_route", f"no handler for {method}")
            claims = self._authenticate(request)
            try:
                if request.content_type == "application/json":
                    message = json_format.Parse(body or b"{}", route.request_type())
                else:
                    message = route.request_type.FromString(body)
            except (DecodeError, json_format.ParseError) as e:
                raise TwirpFault("malformed", f"could not decode request: {e}") from e
            call.request = message
            denied = route.grant(claims, message)
            if denied:
                raise TwirpFault("permission_denied", denied)
            if route.validate is not None:
                route.validate(message)
            result = route.handler(message)
            if inspect.isawaitable(result):
                result = await result
        except TwirpFault as fault:
            call.error = fault.code
            if fault.plain:
                return web.Response(status=_HTTP_STATUS[fault.code], text=fault.msg)
            payload: dict[str, Any] = {"code": fault.code, "msg": fault.msg}
            if fault.meta:
                payload["meta"] = fault.meta
            return web.Response(
                status=_HTTP_STATUS.get(fault.code, 500),
                text=json.dumps(payload),
                content_type="application/json",
            )
        if request.content_type == "application/json":
            return web.Response(
                text=json_format.MessageToJson(result), content_type="application/json"
            )
        return web.Response(body=result.SerializeToString(), content_type="application/protobuf")

    def _authenticate(self, request: web.Request) -> Claims:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise TwirpFault("unauthenticated", "permissions denied")
        try:
            return api.TokenVerifier(self.api_key, self.api_secret).verify(header[7:])
        except Exception as e:  # any JWT failure: bad signature, wrong issuer, expired
            raise TwirpFault("unauthenticated", "invalid authorization token", plain=True) from e

    # ----- default handlers --------------------------------------------------------------

    def _install_defaults(self) -> None:
        sip = {
            "CreateSIPInboundTrunk": (
                api.CreateSIPInboundTrunkRequest,
                api.SIPInboundTrunkInfo,
                self._create_inbound,
            ),
            "UpdateSIPInboundTrunk": (
                api.UpdateSIPInboundTrunkRequest,
                api.SIPInboundTrunkInfo,
                self._update_inbound,
            ),
            "ListSIPInboundTrunk": (
                api.ListSIPInboundTrunkRequest,
                api.ListSIPInboundTrunkResponse,
                self._list_inbound,
            ),
            "CreateSIPOutboundTrunk": (
                api.CreateSIPOutboundTrunkRequest,
                api.SIPOutboundTrunkInfo,
                self._create_outbound,
            ),
            "UpdateSIPOutboundTrunk": (
                api.UpdateSIPOutboundTrunkRequest,
                api.SIPOutboundTrunkInfo,
                self._update_outbound,
            ),
            "ListSIPOutboundTrunk": (
                api.ListSIPOutboundTrunkRequest,
                api.ListSIPOutboundTrunkResponse,
                self._list_outbound,
            ),
            "DeleteSIPTrunk": (api.DeleteSIPTrunkRequest, api.SIPTrunkInfo, self._delete_trunk),
            "CreateSIPDispatchRule": (
                api.CreateSIPDispatchRuleRequest,
                api.SIPDispatchRuleInfo,
                self._create_rule,
            ),
            "UpdateSIPDispatchRule": (
                api.UpdateSIPDispatchRuleRequest,
                api.SIPDispatchRuleInfo,
                self._update_rule,
            ),
            "ListSIPDispatchRule": (
                api.ListSIPDispatchRuleRequest,
                api.ListSIPDispatchRuleResponse,
                self._list_rules,
            ),
            "DeleteSIPDispatchRule": (
                api.DeleteSIPDispatchRuleRequest,
                api.SIPDispatchRuleInfo,
                self._delete_rule,
            ),
        }
        for name, (req, resp, handler) in sip.items():
            self._routes[f"livekit.SIP/{name}"] = _Route(req, resp, handler, _sip_admin)
        self._routes["livekit.SIP/CreateSIPParticipant"] = _Route(
            api.CreateSIPParticipantRequest,
            api.SIPParticipantInfo,
            self._create_sip_participant,
            _sip_call,
            self._validate_create_sip_participant,
        )
        self._routes["livekit.SIP/TransferSIPParticipant"] = _Route(
            api.TransferSIPParticipantRequest,
            api.TransferSIPParticipantResponse,
            self._transfer_sip_participant,
            _sip_call_room_admin,
        )
        room = {
            "CreateRoom": (api.CreateRoomRequest, api.Room, self._create_room, _room_create),
            "ListRooms": (
                api.ListRoomsRequest,
                api.ListRoomsResponse,
                self._list_rooms,
                _room_list,
            ),
            "DeleteRoom": (
                api.DeleteRoomRequest,
                api.DeleteRoomResponse,
                self._delete_room,
                _room_create,
            ),
            "ListParticipants": (
                api.ListParticipantsRequest,
                api.ListParticipantsResponse,
                self._list_participants,
                _room_admin,
            ),
            "GetParticipant": (
                api.RoomParticipantIdentity,
                api.ParticipantInfo,
                self._get_participant,
                _room_admin,
            ),
            "RemoveParticipant": (
                api.RoomParticipantIdentity,
                api.RemoveParticipantResponse,
                self._remove_participant,
                _room_admin,
            ),
            "MoveParticipant": (
                api.MoveParticipantRequest,
                api.MoveParticipantResponse,
                self._move_participant,
                _room_admin,
            ),
            "UpdateParticipant": (
                api.UpdateParticipantRequest,
                api.ParticipantInfo,
                self._update_participant,
                _room_admin,
            ),
            "UpdateSubscriptions": (
                api.UpdateSubscriptionsRequest,
                api.UpdateSubscriptionsResponse,
                self._update_subscriptions,
                _room_admin,
            ),
        }
        for name, (req, resp, handler, grant) in room.items():
            self._routes[f"livekit.RoomService/{name}"] = _Route(req, resp, handler, grant)
        dispatch = {
            "CreateDispatch": (
                api.CreateAgentDispatchRequest,
                api.AgentDispatch,
                self._create_dispatch,
            ),
            "DeleteDispatch": (
                api.DeleteAgentDispatchRequest,
                api.AgentDispatch,
                self._delete_dispatch,
            ),
            "ListDispatch": (
                api.ListAgentDispatchRequest,
                api.ListAgentDispatchResponse,
                self._list_dispatch,
            ),
        }
        for name, (req, resp, handler) in dispatch.items():
            self._routes[f"livekit.AgentDispatchService/{name}"] = _Route(
                req, resp, handler, _room_admin
            )

    # ----- SIP: conflicts (LiveKit's rules) ----------------------------------------------

    def _check_inbound(self, candidate: api.SIPInboundTrunkInfo) -> None:
        others = [t for tid, t in self.inbound.items() if tid != candidate.sip_trunk_id]
        seen: dict[tuple[str, str], api.SIPInboundTrunkInfo] = {}
        for t in [*others, candidate]:
            for number in list(t.numbers) or [""]:
                for caller in [_norm(n) for n in t.allowed_numbers] or [""]:
                    other = seen.get((number, caller))
                    if other is not None and t is candidate and other is not candidate:
                        tail = (
                            f"and AllowedNumber {_q(caller)}"
                            if caller
                            else "without AllowedNumbers set"
                        )
                        raise TwirpFault(
                            self.CONFLICT_CODE,
                            f"Conflicting inbound SIP Trunks: "
                            f"{_q(candidate.sip_trunk_id or '<new>')} and "
                            f"{_q(other.sip_trunk_id)}, using the same number(s) "
                            f"{_go_list(list(t.numbers))} {tail}",
                        )
                    seen.setdefault((number, caller), t)

    def _check_rule(self, candidate: api.SIPDispatchRuleInfo) -> None:
        if not candidate.HasField("rule"):
            raise TwirpFault("invalid_argument", "missing rule")
        others = [r for rid, r in self.rules.items() if rid != candidate.sip_dispatch_rule_id]
        seen: dict[tuple[str, str, str, str], api.SIPDispatchRuleInfo] = {}
        for r in [*others, candidate]:
            kind = r.rule.WhichOneof("rule")
            pin = getattr(r.rule, kind).pin if kind else ""
            for trunk in list(r.trunk_ids) or [""]:
                for inbound in [_norm(n) for n in r.inbound_numbers] or [""]:
                    for number in [_norm(n) for n in r.numbers] or [""]:
                        key = (pin, trunk, inbound, number)
                        other = seen.get(key)
                        if other is not None and r is candidate and other is not candidate:
                            raise TwirpFault(
                                self.CONFLICT_CODE,
                                "Dispatch rule for the same trunk, inbound number, number, and "
                                "PIN combination already exists in dispatch rule "
                                f"{_q(other.sip_dispatch_rule_id or '<new>')} "
                                f"{_q(other.name or '<blank name>')}",
                            )
                        seen.setdefault(key, r)

    # ----- SIP: trunks -------------------------------------------------------------------

    def _create_inbound(self, req: api.CreateSIPInboundTrunkRequest) -> api.SIPInboundTrunkInfo:
        if req.trunk.sip_trunk_id:
            raise TwirpFault("invalid_argument", "trunk id must not be set")
        info = api.SIPInboundTrunkInfo()
        info.CopyFrom(req.trunk)
        self._check_inbound(info)
        info.sip_trunk_id = _new_id("ST_")
        self.inbound[info.sip_trunk_id] = info
        return info

    def _update_inbound(self, req: api.UpdateSIPInboundTrunkRequest) -> api.SIPInboundTrunkInfo:
        current = self.inbound.get(req.sip_trunk_id)
        if current is None:
            raise TwirpFault("not_found", "requested sip trunk does not exist")
        info = _replaced_or_patched(current, req, api.SIPInboundTrunkInfo())
        info.sip_trunk_id = current.sip_trunk_id
        self._check_inbound(info)
        self.inbound[info.sip_trunk_id] = info
        return info

    def _create_outbound(self, req: api.CreateSIPOutboundTrunkRequest) -> api.SIPOutboundTrunkInfo:
        if req.trunk.sip_trunk_id:
            raise TwirpFault("invalid_argument", "trunk id must not be set")
        info = api.SIPOutboundTrunkInfo()
        info.CopyFrom(req.trunk)
        _check_outbound(info)
        info.sip_trunk_id = _new_id("ST_")
        self.outbound[info.sip_trunk_id] = info
        return info

    def _update_outbound(self, req: api.UpdateSIPOutboundTrunkRequest) -> api.SIPOutboundTrunkInfo:
        current = self.outbound.get(req.sip_trunk_id)
        if current is None:
            raise TwirpFault("not_found", "requested sip trunk does not exist")
        info = _replaced_or_patched(current, req, api.SIPOutboundTrunkInfo())
        info.sip_trunk_id = current.sip_trunk_id
        _check_outbound(info)
        self.outbound[info.sip_trunk_id] = info
        return info

    @staticmethod
    def _page(items: list[Any], id_field: str, page: Any) -> list[Any]:
        items = sorted(items, key=lambda i: getattr(i, id_field))
        if page.after_id:
            items = [i for i in items if getattr(i, id_field) > page.after_id]
        return items[: page.limit] if page.limit else items

    def _list_inbound(self, req: api.ListSIPInboundTrunkRequest) -> api.ListSIPInboundTrunkResponse:
        items = [
            t
            for t in self.inbound.values()
            if (not req.trunk_ids or t.sip_trunk_id in req.trunk_ids)
            and (not req.numbers or set(req.numbers) & set(t.numbers))
        ]
        return api.ListSIPInboundTrunkResponse(items=self._page(items, "sip_trunk_id", req.page))

    def _list_outbound(
        self, req: api.ListSIPOutboundTrunkRequest
    ) -> api.ListSIPOutboundTrunkResponse:
        items = [
            t
            for t in self.outbound.values()
            if (not req.trunk_ids or t.sip_trunk_id in req.trunk_ids)
            and (not req.numbers or set(req.numbers) & set(t.numbers))
        ]
        return api.ListSIPOutboundTrunkResponse(items=self._page(items, "sip_trunk_id", req.page))

    def _delete_trunk(self, req: api.DeleteSIPTrunkRequest) -> api.SIPTrunkInfo:
        self.inbound.pop(req.sip_trunk_id, None)
        self.outbound.pop(req.sip_trunk_id, None)
        # livekit-server answers a missing trunk like a deleted one (no not_found)
        return api.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)

    # ----- SIP: dispatch rules -----------------------------------------------------------

    def _create_rule(self, req: api.CreateSIPDispatchRuleRequest) -> api.SIPDispatchRuleInfo:
        info = api.SIPDispatchRuleInfo()
        if req.HasField("dispatch_rule"):
            info.CopyFrom(req.dispatch_rule)
            # livekit-server: SIPDispatchRuleInfo.Upgrade() always sets `media`
            info.media.SetInParent()
            if info.media_encryption and not info.media.HasField("encryption"):
                info.media.encryption = info.media_encryption
        else:  # legacy top-level fields, as LiveKit still accepts
            info.rule.CopyFrom(req.rule)
            info.trunk_ids.extend(req.trunk_ids)
            info.inbound_numbers.extend(req.inbound_numbers)
            info.hide_phone_number = req.hide_phone_number
            info.name, info.metadata = req.name, req.metadata
            info.attributes.update(req.attributes)
            info.room_preset = req.room_preset
            if req.HasField("room_config"):
                info.room_config.CopyFrom(req.room_config)
        info.sip_dispatch_rule_id = ""
        self._check_rule(info)
        info.sip_dispatch_rule_id = _new_id("SDR_")
        self.rules[info.sip_dispatch_rule_id] = info
        return info

    def _update_rule(self, req: api.UpdateSIPDispatchRuleRequest) -> api.SIPDispatchRuleInfo:
        current = self.rules.get(req.sip_dispatch_rule_id)
        if current is None:
            raise TwirpFault("not_found", "requested sip dispatch rule does not exist")
        info = api.SIPDispatchRuleInfo()
        action = req.WhichOneof("action")
        if action == "replace":
            info.CopyFrom(req.replace)
        elif action == "update":
            info.CopyFrom(current)
            _apply_partial(info, req.update)
        else:
            raise TwirpFault("invalid_argument", "missing or unsupported update action")
        info.sip_dispatch_rule_id = current.sip_dispatch_rule_id
        self._check_rule(info)
        self.rules[info.sip_dispatch_rule_id] = info
        return info

    def _list_rules(self, req: api.ListSIPDispatchRuleRequest) -> api.ListSIPDispatchRuleResponse:
        items = [
            r
            for r in self.rules.values()
            if (not req.dispatch_rule_ids or r.sip_dispatch_rule_id in req.dispatch_rule_ids)
            and (not req.trunk_ids or set(req.trunk_ids) & set(r.trunk_ids) or not r.trunk_ids)
        ]
        return api.ListSIPDispatchRuleResponse(
            items=self._page(items, "sip_dispatch_rule_id", req.page)
        )

    def _delete_rule(self, req: api.DeleteSIPDispatchRuleRequest) -> api.SIPDispatchRuleInfo:
        found = self.rules.pop(req.sip_dispatch_rule_id, None)
        if found is None:
            raise TwirpFault("not_found", "requested sip dispatch rule does not exist")
        return found

    # ----- SIP participants --------------------------------------------------------------

    def _validate_create_sip_participant(self, req: api.CreateSIPParticipantRequest) -> None:
        """livekit-server's checks before the request reaches a SIP bridge (livekit/protocol
        `CreateSIPParticipantRequest.ValidateResult`, then the trunk lookup), in its order."""
        if not req.sip_trunk_id and not req.HasField("trunk") and not req.sip_number:
            raise TwirpFault("invalid_argument", "missing sip trunk id and sip number")
        if req.HasField("trunk"):
            _check_hostname(req.trunk.hostname, "trunk hostname", required=True)
        if not req.sip_call_to:
            raise TwirpFault("invalid_argument", "missing sip callee number")
        if "@" in req.sip_call_to:
            raise TwirpFault(
                "invalid_argument",
                "SipCallTo should be a phone number or SIP user, not a full SIP URI",
            )
        if not req.room_name:
            raise TwirpFault("invalid_argument", "missing room name")
        trunk = self.outbound.get(req.sip_trunk_id) if req.sip_trunk_id else None
        if req.sip_trunk_id and trunk is None:
            raise TwirpFault("not_found", "requested sip trunk does not exist")
        if not req.sip_number and (trunk is None or not trunk.numbers):
            raise TwirpFault("failed_precondition", "no numbers on outbound trunk")

    def _create_sip_participant(
        self, req: api.CreateSIPParticipantRequest
    ) -> api.SIPParticipantInfo:
        """The bridge's part (no SIP here): the callee answers and joins the room."""
        identity = req.participant_identity or f"sip_{req.sip_call_to}"
        p = self.add_participant(
            req.room_name,
            identity,
            kind=api.ParticipantInfo.Kind.SIP,
            attributes=dict(req.participant_attributes),
        )
        return api.SIPParticipantInfo(
            participant_id=p.sid,
            participant_identity=identity,
            room_name=req.room_name,
            sip_call_id=_new_id("SCL_"),
        )

    def _transfer_sip_participant(
        self, req: api.TransferSIPParticipantRequest
    ) -> api.TransferSIPParticipantResponse:
        if not req.transfer_to.startswith(("sip:", "sips:", "tel:")):
            raise TwirpFault(
                "invalid_argument",
                "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)",
            )
        p = self._participant(req.room_name, req.participant_identity)
        if p.kind != api.ParticipantInfo.Kind.SIP:
            raise TwirpFault(
                "invalid_argument",
                "twirp error unknown: no SIP session associated with participant",
            )
        if self.self_hosted:
            # v1.13.5 answers google.protobuf.Empty: it decodes as a default response
            return api.TransferSIPParticipantResponse()
        return api.TransferSIPParticipantResponse(
            transfer_id=_new_id("STR_"), status=api.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
        )

    # ----- rooms and participants --------------------------------------------------------

    def _participant(self, room: str, identity: str) -> api.ParticipantInfo:
        p = self.participants.get(room, {}).get(identity)
        if p is None:
            # livekit-server answers through its psrpc bus, which prefixes the message
            raise TwirpFault("not_found", "twirp error unknown: participant does not exist")
        return p

    def _create_room(self, req: api.CreateRoomRequest) -> api.Room:
        return self.rooms.setdefault(
            req.name, api.Room(name=req.name, sid=_new_id("RM_"), metadata=req.metadata)
        )

    def _list_rooms(self, req: api.ListRoomsRequest) -> api.ListRoomsResponse:
        names = set(req.names)
        return api.ListRoomsResponse(
            rooms=[r for n, r in self.rooms.items() if not names or n in names]
        )

    def _delete_room(self, req: api.DeleteRoomRequest) -> api.DeleteRoomResponse:
        if self.rooms.pop(req.room, None) is None:
            raise TwirpFault("not_found", "twirp error unknown: requested room does not exist")
        self.participants.pop(req.room, None)
        return api.DeleteRoomResponse()

    def _list_participants(self, req: api.ListParticipantsRequest) -> api.ListParticipantsResponse:
        return api.ListParticipantsResponse(
            participants=list(self.participants.get(req.room, {}).values())
        )

    def _get_participant(self, req: api.RoomParticipantIdentity) -> api.ParticipantInfo:
        return self._participant(req.room, req.identity)

    def _remove_participant(
        self, req: api.RoomParticipantIdentity
    ) -> api.RemoveParticipantResponse:
        self._participant(req.room, req.identity)
        del self.participants[req.room][req.identity]
        return api.RemoveParticipantResponse()

    def _move_participant(self, req: api.MoveParticipantRequest) -> api.MoveParticipantResponse:
        if self.self_hosted:
            self._routed_to_participant(req.room, req.identity)
            # RoomManager.MoveParticipant: errors.New("not implemented"), which psrpc turns
            # into Twirp `unknown` (HTTP 500): not `unimplemented`
            raise TwirpFault("unknown", "twirp error unknown: not implemented")
        p = self._participant(req.room, req.identity)
        if req.destination_room not in self.rooms:
            raise TwirpFault("not_found", "destination room does not exist")
        del self.participants[req.room][req.identity]
        self.participants.setdefault(req.destination_room, {})[req.identity] = p
        return api.MoveParticipantResponse()

    def _update_participant(self, req: api.UpdateParticipantRequest) -> api.ParticipantInfo:
        p = self._participant(req.room, req.identity)
        if req.metadata:
            p.metadata = req.metadata
        if req.name:
            p.name = req.name
        p.attributes.update(req.attributes)
        if req.HasField("permission"):
            p.permission.CopyFrom(req.permission)
        return p

    def _update_subscriptions(
        self, req: api.UpdateSubscriptionsRequest
    ) -> api.UpdateSubscriptionsResponse:
        self._routed_to_participant(req.room, req.identity)
        return api.UpdateSubscriptionsResponse()

    def _routed_to_participant(self, room: str, identity: str) -> None:
        """Calls livekit-server routes to the participant's own node: with nobody there, no
        node answers the psrpc request (`unavailable`, not `not_found`)."""
        if identity not in self.participants.get(room, {}):
            raise TwirpFault("unavailable", "twirp error unknown: no response from servers")

    # ----- agent dispatch ----------------------------------------------------------------

    def _create_dispatch(self, req: api.CreateAgentDispatchRequest) -> api.AgentDispatch:
        d = api.AgentDispatch(
            id=_new_id("AD_"), agent_name=req.agent_name, room=req.room, metadata=req.metadata
        )
        self.dispatches[d.id] = d
        return d

    def _delete_dispatch(self, req: api.DeleteAgentDispatchRequest) -> api.AgentDispatch:
        d = self.dispatches.get(req.dispatch_id)
        if d is None or d.room != req.room:
            raise TwirpFault("not_found", "dispatch not found")
        del self.dispatches[req.dispatch_id]
        return d

    def _list_dispatch(self, req: api.ListAgentDispatchRequest) -> api.ListAgentDispatchResponse:
        return api.ListAgentDispatchResponse(
            agent_dispatches=[
                d
                for d in self.dispatches.values()
                if d.room == req.room and (not req.dispatch_id or d.id == req.dispatch_id)
            ]
        )


__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_SECRET",
    "LiveKitEmulator",
    "RecordedCall",
    "TwirpFault",
    "sip_status_fault",
    "sip_timeout_fault",
]
