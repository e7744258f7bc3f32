"""The Wazzup webhook receiver: every POST body is stored durably before it is answered 200.

Wazzup keeps no message history, so a body answered 200 but not stored is lost for good.
Each accepted body (the `{"test": true}` ping included: the loader counts it as a known
no-data body) is fsynced to a landing file before its 200 (`writer`); the HTTP side is a
plain ASGI app under uvicorn (`server`).
"""

from chatsales.app.receiver.server import Receiver, serve
from chatsales.app.receiver.writer import LandingWriter, encode_line

__all__ = ["LandingWriter", "Receiver", "encode_line", "serve"]
