"""A real SMTP server for issuer/tests/production.rs: aiosmtpd on 127.0.0.1, on a free port.

    python smtp_sink.py OUT_DIR

Prints ``port N`` once it listens, then writes every message it accepts to
``OUT_DIR/NNNN.json`` (written aside and renamed, so a reader never sees half a file):
the envelope (``mail_from``, ``rcpt_tos``), the ``From``, ``To`` and ``Subject`` headers and
the text body decoded as a mail client would (quoted-printable and base64 undone). It exits
when its standard input closes, so it does not outlive the test that started it.
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    """aiosmtpd handler: one JSON file per message."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "body": part.get_content() if part is not None else "",
        }
        self.count += 1
        name = f"{self.count:04}.json"
        tmp = os.path.join(self.out_dir, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(self.out_dir, name))
        return "250 Message accepted for delivery"


async def main(out_dir: str) -> None:
    loop = asyncio.get_running_loop()
    sink = Sink(out_dir)
    # A fixed hostname: aiosmtpd would otherwise look up this machine's FQDN, which can
    # take seconds where DNS is missing.
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    # Serve until the test closes our standard input (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
