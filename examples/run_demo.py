"""`make demo`: a governed agent against a local enforcer, end to end, offline.

1. starts `thoth serve` on a free loopback port with examples/policy.yaml and SQLite in a temp dir;
2. runs examples/demo_agent.py, a scripted agent governed by thoth.instrument();
3. when the agent's refund is held, prints the approvals console's address; run from a terminal,
   it gives you a minute to click Approve or Deny there, then (or at once, run from a script)
   approves it as an approver would: `thoth holds approve TOKEN`;
4. prints the session's audit trail from the store, and exits 0 if everything happened as shown;
5. with twelve routine sessions of the same agent run first (examples/demo_history.py), prints the
   sessions by anomaly score (`thoth sessions --anomalous`, and the demo session's reasons) and
   `thoth policy replay` of the recorded traffic under examples/candidate.yaml.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from thoth.server import store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_history import run_routine  # examples/ is not a package

HERE = Path(__file__).resolve().parent
TENANT = "acme-corp"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def thoth_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "thoth.cli", *args]


def start_server(workdir: Path, api_key: str, admin_key: str) -> tuple[subprocess.Popen[bytes], str, str]:
    db_url = f"sqlite:///{workdir / 'thoth.db'}"
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (workdir / "server.log").open("ab")
        server = subprocess.Popen(
            thoth_command(
                "serve",
                "--port",
                str(port),
                "--policy",
                str(HERE / "policy.yaml"),
                "--db",
                db_url,
                "--api-key",
                f"{TENANT}:{api_key}",
                "--admin-key",
                f"demo-approver={TENANT}:{admin_key}",  # resolutions are recorded as demo-approver
                "--public-url",
                url,  # a STEP_UP answer then links the hold's console page (approval_url)
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return server, url, db_url
            except httpx.HTTPError:
                time.sleep(0.05)
        server.kill()
        server.wait()
    raise SystemExit(f"the enforcer did not start; see {workdir / 'server.log'}")


CONSOLE_WAIT_SECONDS = 60


def interactive() -> bool:
    """Run by a person at a terminal (not by a test, CI or a pipe): leave time for the console."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def resolved_in_console(client: httpx.Client, session_id: str, token: str, seconds: float) -> bool:
    """Wait up to ``seconds`` for someone to resolve the hold in the console; say who did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        holds = client.get("/v1/holds", params={"session_id": session_id}).json()["items"]
        hold = next((h for h in holds if h["hold_token"] == token), None)
        if hold is not None and hold["status"] != "pending":
            print(f"\n[approver] {hold['status']} in the console by {hold['approver']}", flush=True)
            return True
        time.sleep(0.25)
    return False


def approve_when_held(
    url: str, admin_key: str, session_id: str, agent: subprocess.Popen[bytes]
) -> str | None:
    """Wait for the agent's hold; let a person resolve it in the console, else approve it with
    the CLI, as a human approver would."""
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=5) as client:
        while time.monotonic() < deadline and agent.poll() is None:
            holds = client.get("/v1/holds", params={"status": "pending", "session_id": session_id}).json()
            if holds["items"]:
                token = str(holds["items"][0]["hold_token"])
                page = f"{url}/ui/holds/{holds['items'][0]['hold_ref']}"
                if interactive():
                    print(
                        f"\n[approver] open {page} and click Approve or Deny "
                        f"(the CLI approves in {CONSOLE_WAIT_SECONDS} s otherwise)",
                        flush=True,
                    )
                    if resolved_in_console(client, session_id, token, CONSOLE_WAIT_SECONDS):
                        return token
                else:
                    time.sleep(1.0)  # let the agent be seen waiting
                print(
                    f"\n[approver] $ thoth holds approve {token[:12]}... --reason 'customer called'",
                    flush=True,
                )
                subprocess.run(
                    thoth_command(
                        "holds",
                        "approve",
                        token,
                        "--reason",
                        "customer called",
                        "--approver",
                        "carol@acme.com",
                        "--url",
                        url,
                        "--api-key",
                        admin_key,
                    ),
                    check=True,
                )
                return token
            time.sleep(0.1)
    return None


def print_audit_trail(db_url: str, session_id: str) -> dict[str, int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        decisions = (
            conn.execute(
                sa.select(store.decisions)
                .where(store.decisions.c.session_id == session_id)
                .order_by(store.decisions.c.id)
            )
            .mappings()
            .all()
        )
        events = (
            conn.execute(
                sa.select(store.events)
                .where(store.events.c.session_id == session_id)
                .order_by(store.events.c.id)
            )
            .mappings()
            .all()
        )
    engine.dispose()
    print(f"\n== audit trail of session {session_id} (from {db_url})")
    print("-- decisions")
    for row in decisions:
        when = dt.datetime.fromtimestamp(row["created_at"], dt.UTC).strftime("%H:%M:%S.%f")[:-3]
        rules = ",".join(json.loads(row["rule_ids"] or "[]"))
        latency = f"{row['latency_ms']:.2f} ms" if row["latency_ms"] is not None else ""
        print(
            f"{when}  {row['kind']:13} {row['tool_name']:16} {row['decision']:8} "
            f"{rules or '-':26} {latency:>9}  {row['reason'] or ''}"
        )
    print("-- events (hash chain checked on arrival)")
    for row in events:
        body = json.loads(row["body"])
        tool = body.get("tool_name", "")
        print(f"#{row['chain_index']:<3} {row['event_type']:16} {tool:16} chain={row['chain_status']}")
    counts: dict[str, int] = {}
    for row in decisions:
        counts[row["decision"]] = counts.get(row["decision"], 0) + 1
    counts["events"] = len(events)
    counts["chain_breaks"] = sum(row["chain_status"] not in ("verified", "unchained") for row in events)
    return counts


def print_anomalies(url: str, api_key: str, session_id: str) -> bool:
    """`thoth sessions --anomalous`, then the demo session's reasons; True when both ran."""
    listed = ["sessions", "--anomalous", "--limit", "5"]
    shown = ["sessions", "show", session_id]
    ok = True
    for command in (listed, shown):
        print("\n== $ thoth " + " ".join(command), flush=True)
        options = ["--url", url, "--api-key", api_key]
        ok = subprocess.run(thoth_command(*command, *options), check=False).returncode == 0 and ok
    return ok


def print_replay(db_url: str) -> bool:
    """`thoth policy replay` of everything recorded, under the candidate policy; True when it ran
    (exit 0, or 1: more flips than --max-flips, which the demo shows on purpose)."""
    command = [
        "policy",
        "replay",
        "--db",
        db_url,
        "--policy",
        str(HERE / "candidate.yaml"),
        "--max-flips",
        "0",
    ]
    shown = " ".join(command).replace(db_url, "sqlite:///thoth.db").replace(str(HERE), "examples")
    print("\n== $ thoth " + shown, flush=True)
    return subprocess.run(thoth_command(*command), check=False).returncode in (0, 1)


def main() -> int:
    api_key = "thoth_demo_" + secrets.token_hex(12)
    admin_key = "thoth_demo_admin_" + secrets.token_hex(12)
    session_id = f"demo-{uuid.uuid4()}"
    with tempfile.TemporaryDirectory(prefix="thoth-demo-") as tmp:
        workdir = Path(tmp)
        server, url, db_url = start_server(workdir, api_key, admin_key)
        print(f"enforcer on {url} with {HERE / 'policy.yaml'}, store in {workdir}")
        key_file = workdir / "admin-key"
        key_file.write_text(admin_key + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        print(f"approvals console: {url}/ui/approvals (sign in with the admin key in {key_file})")
        try:
            routine = run_routine(url, api_key, TENANT)
            print(f"recorded {len(routine)} routine sessions of billing-agent (examples/demo_history.py)")
            env = {
                **os.environ,
                "THOTH_API_URL": url,
                "THOTH_API_KEY": api_key,
                "THOTH_TENANT_ID": TENANT,
                "THOTH_DEMO_SESSION_ID": session_id,
            }
            agent = subprocess.Popen([sys.executable, str(HERE / "demo_agent.py")], env=env)
            approved = approve_when_held(url, admin_key, session_id, agent)
            agent_status = agent.wait(timeout=120)
            scored = print_anomalies(url, api_key, session_id)
        finally:
            server.send_signal(signal.SIGTERM)  # a clean stop flushes pending writes
            server.wait(timeout=30)
        counts = print_audit_trail(db_url, session_id)
        replayed = print_replay(db_url)
    expected = {"ALLOW": 1, "BLOCK": 1, "MODIFY": 1, "STEP_UP": 1}
    ok = (
        agent_status == 0
        and approved is not None
        and all(counts.get(k, 0) >= v for k, v in expected.items())
        and counts.get("ALLOW", 0) + counts.get("BLOCK", 0) >= 3  # and the hold's resolution, either way
        and counts["events"] > 0
        and counts["chain_breaks"] == 0
        and replayed
        and scored
    )
    print("\ndemo OK" if ok else f"\ndemo FAILED (agent exit {agent_status}, decisions {counts})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
