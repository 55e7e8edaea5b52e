"""The AWS provider's commands on moto over HTTP: listings as JSON against what moto holds, actions
through the ActionRunner with confirmations, exit codes, errors in one sentence, completion."""

from __future__ import annotations

import stat
import urllib.request

from gridclient.cli.output import ELEMENT_KEYS
from tests.cli.conftest import moto_state


def test_vm_list_json_is_what_moto_holds(gc, boto, instances):
    ran = gc("vm", "list", "--json")
    assert ran.code == 0, ran.err
    rows = ran.json()
    held = {i["InstanceId"]: i for r in boto("ec2").describe_instances()["Reservations"] for i in r["Instances"]}
    assert {r["id"] for r in rows} == set(held) == set(instances)
    for r in rows:
        assert tuple(r) == ELEMENT_KEYS
        assert r["kind"] == "aws.ec2.instance" and r["state"] == held[r["id"]]["State"]["Name"] == "running"
        assert r["properties"]["InstanceType"] == "t3.micro"
    assert next(r for r in rows if r["id"] == instances[0])["label"] == "web"
    table = gc("vm", "list")
    assert table.code == 0 and table.out.splitlines()[0].split()[:3] == ["ID", "NAME", "STATE"]
    assert all(i in table.out for i in instances)


def test_vm_stop_asks_refuses_without_a_terminal_and_stops_with_yes(gc, boto, instances):
    target = instances[1]
    refused = gc("vm", "stop", target)  # CliRunner's standard input is no terminal
    assert refused.code == 4
    assert len(refused.err.strip().splitlines()) == 1 and "--yes" in refused.err and "Stop" in refused.err
    assert moto_state(boto, target) == "running"
    done = gc("vm", "stop", target, "--yes", "--wait")
    assert done.code == 0, done.err
    assert moto_state(boto, target) == "stopped"
    assert f"{target}: stopped" in done.out
    assert moto_state(boto, instances[0]) == "running"
    # Stop is only for running instances: refused, as the window's menu would not offer it
    again = gc("vm", "stop", target, "--yes")
    assert again.code == 4 and "running" in again.err
    started = gc("vm", "start", target, "--json")
    assert started.code == 0 and started.json()["elements"][0]["id"] == target
    assert started.json()["elements"][0]["state"] in ("pending", "running")  # as Start left it, not "stopped"
    assert moto_state(boto, target) in ("pending", "running")


def test_vm_delete_terminates_by_name(gc, boto, instances):
    # the label, where it names one element, finds it as well as its id
    ran = gc("vm", "delete", "web", "--yes")
    assert ran.code == 0, ran.err
    assert moto_state(boto, instances[0]) in ("shutting-down", "terminated")


def test_missing_instance_is_not_found(gc, boto, instances):
    ran = gc("vm", "stop", "i-0123456789abcdef0", "--yes")
    assert ran.code == 3 and "i-0123456789abcdef0" in ran.err
    assert all(moto_state(boto, i) == "running" for i in instances)
    assert gc("vo", "test", "Nope").code == 3


def test_bad_usage_is_2(gc, aws_vo):
    for args in (("vm", "stop"), ("vm", "list", "--bogus"), ("nothing",), ("action", "run", "aws.ec2.stop"),
                 ("vm", "stop", "i-1", "--field", "novalue"), ("vm", "console", "i-1", "i-2")):
        ran = gc(*args)
        assert ran.code == 2, (args, ran.err)
        assert "Usage:" in ran.err or "Error" in ran.err


def test_wrong_credentials_fail_in_one_sentence(gc, moto, instances):
    def auth(count: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset-auth", data=count.encode(),
                                                      method="POST", headers={"Content-Type": "text/plain"})).read()

    auth("0")
    try:
        ran = gc("vm", "list")
        quiet = gc("vm", "stop", instances[0], "--yes")
        loud = gc("vm", "list", "--log-level", "DEBUG")
    finally:
        auth("inf")
    assert ran.code == 1 and ran.out == ""
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and "access key id or secret access key was not accepted" in lines[0]
    assert "gridclient vo edit" in lines[0] and "Traceback" not in ran.err
    assert quiet.code == 1 and "Traceback" not in quiet.err and "not accepted" in quiet.err
    assert loud.code == 1 and "Traceback" in loud.err


def test_s3_ls(gc, boto, aws_vo):
    s3 = boto("s3")
    s3.create_bucket(Bucket="results")
    s3.put_object(Bucket="results", Key="top.txt", Body=b"hello")
    for i in range(3):
        s3.put_object(Bucket="results", Key=f"run1/out{i}.csv", Body=b"x" * i)
    buckets = gc("s3", "ls", "--json")
    assert buckets.code == 0, buckets.err
    assert [b["id"] for b in buckets.json()] == ["results"]
    top = gc("s3", "ls", "s3://results", "--json").json()
    assert [(r["kind"], r["label"]) for r in top] == [("aws.s3.folder", "run1/"), ("aws.s3.object", "top.txt")]
    assert top[1]["properties"]["Size"] == 5
    inside = gc("s3", "ls", "s3://results/run1")
    assert inside.code == 0 and [line.split()[1] for line in inside.out.splitlines()[1:]] == [
        "out0.csv", "out1.csv", "out2.csv"]
    # an object's URI lists it (and what begins with its name there), as aws s3 ls does
    s3.put_object(Bucket="results", Key="run1/out1.csv.bak", Body=b"b")
    one = gc("s3", "ls", "s3://results/run1/out1.csv", "--json")
    assert one.code == 0, one.err
    assert [r["label"] for r in one.json()] == ["out1.csv", "out1.csv.bak"]
    assert [r["label"] for r in gc("s3", "ls", "s3://results/top.txt", "--json").json()] == ["top.txt"]
    assert gc("s3", "ls", "s3://results/run1", "--json").json()[-1]["label"] == "out2.csv"  # the whole folder
    assert gc("s3", "ls", "s3://missing-bucket").code == 3
    assert gc("s3", "ls", "results").code == 2


def test_generic_action_run(gc, boto, instances, tmp_path):
    folder = tmp_path / "keys"
    folder.mkdir()
    # an action on a node (Key pairs), with its fields given by name
    ran = gc("action", "run", "aws.ec2.keypair.create", "-f", "name=cli-key", "-f", f"folder={folder}")
    assert ran.code == 0, ran.err
    assert [k["KeyName"] for k in boto("ec2").describe_key_pairs()["KeyPairs"]] == ["cli-key"]
    pem = folder / "cli-key.pem"
    assert pem.exists() and stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert "cli-key" in [r["label"] for r in gc("key", "list", "--json").json()]
    # an action on elements by id, the same runner and confirmation as its named command
    assert gc("action", "run", "aws.ec2.reboot", instances[0]).code == 4
    assert gc("action", "run", "aws.ec2.reboot", instances[0], "--yes").code == 0
    assert gc("action", "run", "aws.no.such").code == 3
    listed = gc("action", "list", "--json").json()
    assert {"id": "aws.ec2.stop", "command": "vm stop"}.items() <= next(a for a in listed if a["id"] == "aws.ec2.stop").items()


def test_completion_of_vo_names_and_cached_instance_ids(gc, moto, instances):
    more = gc("vo", "add", "Lab2", "--type", "aws", "--endpoint-url", moto, "--access-key-id", "A",
              "--secret-stdin", input="x\n")
    assert more.code == 0

    def complete(line: str) -> list[str]:
        words = ["gridclient", "--workspace", gc.root, *line.split(" ")]
        ran = gc(env={"_GRIDCLIENT_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(words),
                      "COMP_CWORD": str(len(words) - 1)})
        assert ran.code == 0, ran.err
        return [line.split(",", 1)[1] for line in ran.out.splitlines() if "," in line]

    assert complete("vm list --vo ") == ["Lab", "Lab2"]
    assert complete("vm list --vo Lab2") == ["Lab2"]
    assert complete("vo test L") == ["Lab", "Lab2"]
    # instance ids come from the info cache: none until something listed them
    assert complete("vm stop --vo Lab i-") == []
    assert gc("vm", "list", "--vo", "Lab").code == 0
    assert complete("vm stop --vo Lab i-") == sorted(instances)
    assert complete("vm") == ["vm"] and "stop" in complete("vm st")
    source = gc(env={"_GRIDCLIENT_COMPLETE": "zsh_source"})
    assert "#compdef gridclient" in source.out


def test_common_options_before_the_words_and_any_case_of_log_level(gc, moto, instances):
    second = gc("vo", "add", "Other", "--type", "aws", "--endpoint-url", "http://127.0.0.1:9", "--access-key-id",
                "AKIDTEST", "--secret-stdin", input="x\n")
    assert second.code == 0, second.err
    before = gc("--vo", "Lab", "--json", "vm", "list")  # two VOs: without --vo it would be a usage error
    assert before.code == 0, before.err
    assert {r["id"] for r in before.json()} == set(instances)
    assert gc("--vo", "Lab", "vm", "stop", instances[0]).code == 4  # refused: no terminal, no --yes
    assert gc("--yes", "--vo", "Lab", "vm", "stop", instances[0]).code == 0
    assert gc("vm", "list", "--vo", "Lab", "--log-level", "debug").code == 0
    assert gc("vm", "list").code == 2  # which VO: not guessed


def test_the_gui_entry_takes_log_level_in_any_case():
    from gridclient.cli import wants_gui

    assert wants_gui(["--log-level", "debug"]) and wants_gui(["--log-level", "Info", "--demo"])


def test_an_endpoint_that_is_a_web_page_is_said_in_one_sentence(gc):
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def _page(self):
            body = b"<html><body><h1>Welcome</h1><p>not an API<br></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        added = gc("vo", "add", "Web", "--type", "aws", "--endpoint-url", f"http://127.0.0.1:{server.server_port}",
                   "--access-key-id", "AKIDTEST", "--secret-stdin", input="x\n")
        assert added.code == 0, added.err
        tested, listed = gc("vo", "test", "Web"), gc("vm", "list")
    finally:
        server.shutdown()
    for ran in (tested, listed):
        assert ran.code == 1 and "not the AWS API" in ran.err, ran.err
        assert "Welcome" not in ran.err and len(ran.err.strip().splitlines()) == 1
