"""The AWS VO type's checks across fields, as the wizard shows them before Finish."""

from __future__ import annotations

import pytest

from providers.aws.vo import validate


def test_a_good_vo_has_no_problems():
    assert validate({"region": "eu-west-1"}) == []
    assert validate({"region": "lab-1", "endpoint_url": "http://127.0.0.1:5000",
                     "ssh_host_override": "[::1]:2222", "proxy_url": "http://proxy:3128",
                     "proxy_user": "u", "proxy_password": "p"}) == []


def test_an_unknown_region_on_aws_proper():
    assert "is not an AWS region" in validate({"region": "mars-north-7"})[0]
    assert "is not a region name" in validate({"region": "Bad Name", "endpoint_url": "http://x"})[0]


@pytest.mark.parametrize("override", ["host:99999", "host:0", "a b", "user@host", "[::1"])
def test_an_ssh_override_that_is_no_host_and_port(override):
    problems = validate({"region": "us-east-1", "ssh_host_override": override})
    assert len(problems) == 1 and problems[0].startswith("SSH via host[:port]: ")


def test_proxy_credentials_without_a_proxy():
    for values in ({"proxy_user": "u"}, {"proxy_password": "p"}):
        problems = validate({"region": "us-east-1", **values})
        assert problems == ["A proxy user or password is set, but no proxy: set the HTTP(S) proxy, or clear them."]
