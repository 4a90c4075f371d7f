"""The last look at every log the run's servers wrote (the shared server's
and every server a test started): no personal value a server took, and
nothing shaped like an ID number or a mobile phone number, appears in them.
(Tokens and passwords are looked for by test_audit.py's last test.)"""

import json
import re
from pathlib import Path

import pytest

import support

ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# What a client chose and the server repeats as it came, looked past: the
# request id and the path (ids, never personal data: that travels in bodies;
# a test's own request id may well contain a short name it also sent).
ECHOED = ("request_id", "path")
# Ids the server makes (32 hex digits) may hold a run of decimal digits.
REQUEST_ID_TEXT = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def forms(value):
    """A value as it may appear in a JSON log line: as it is, or escaped."""
    return {value, json.dumps(value)[1:-1]}


@pytest.mark.last
def test_no_personal_data_reaches_a_log(request, logdir, server):
    if not {"test_cases", "test_referrals"} <= {i.module.__name__ for i in request.session.items}:
        pytest.skip("a run without the case and referral tests takes too little personal data")
    personal = sorted(support.PERSONAL)
    # The servers took personal data: parties, summaries, notes, callers.
    assert len(personal) >= 100, f"only {len(personal)} personal values were sent: is the scan blind?"
    assert any(MOBILE.fullmatch(p) for p in personal) and any(ID_NUMBER.fullmatch(p) for p in personal)
    needles = {f: p for p in personal for f in forms(p)}

    logs = sorted(Path(logdir).glob("tiaojie-*.log"))
    assert server.logpath in logs, logs
    lines = 0
    leaks = []
    for path in logs:
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            lines += 1
            record = None
            try:
                record = json.loads(line)
                rest = json.dumps({k: v for k, v in record.items() if k not in ECHOED},
                                  ensure_ascii=False) if isinstance(record, dict) else line
            except ValueError:
                rest = line
            hits = [p for p in needles if p in rest]
            rest = REQUEST_ID_TEXT.sub("", rest)  # a generated id named in a message
            shaped = ID_NUMBER.findall(rest) + MOBILE.findall(rest)
            if hits or shaped:
                # The shapes are shown (they may be no one's); the values sent are not.
                where = sorted(record) if isinstance(record, dict) else "not JSON"
                sent = [f"{support.PERSONAL[needles[h]]} of {len(needles[h])} characters" for h in hits]
                leaks.append(f"{path.name}:{n} (members {where}): values taken: {sent}; "
                             f"shaped like an ID or phone number: {shaped}")
    print(f"\nscanned {lines} lines of {len(logs)} server logs for {len(personal)} personal values")
    assert lines > 1000, lines
    assert not leaks, "\n".join(leaks[:20])
