"""The bench's own instruments: the AWS call counter and the import-time parser.

The figures themselves are timings and are not asserted here (``make bench``
reports them); these tests check that what the bench counts and attributes is right.
"""

from __future__ import annotations

import botocore.session
from botocore.stub import Stubber

from bench import calls
from bench.cold import TOP_LEVEL, parse_importtime, third_party_edges

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |       botocore.compat
import time:      2000 |       2100 |     botocore.config
import time:       500 |       2600 |   pynamodb.connection
import time:       300 |        300 |   dataclasses
import time:       400 |       3300 | chalicelib.storage.base
import time:      1000 |       1000 | argon2
import time:       200 |       4500 | app
"""


def _dynamodb(config: object = None) -> object:
    session = botocore.session.get_session()
    return session.create_client(
        "dynamodb",
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # dummy: the stubber answers, nothing is sent
        config=config,
    )


def test_counter_sees_every_new_client_but_not_the_harness() -> None:
    # GIVEN the counter installed before the clients are created
    calls.install()
    app_client = _dynamodb()
    harness_client = _dynamodb(calls.harness_config())
    # WHEN each makes one (stubbed) GetItem inside a counting window
    with (
        Stubber(app_client) as app_stub,
        Stubber(harness_client) as harness_stub,
        calls.counting() as seen,
    ):
        for stub in (app_stub, harness_stub):
            stub.add_response("get_item", {}, {"TableName": "t", "Key": {"pk": {"S": "x"}}})
        app_client.get_item(TableName="t", Key={"pk": {"S": "x"}})  # type: ignore[attr-defined]
        harness_client.get_item(TableName="t", Key={"pk": {"S": "x"}})  # type: ignore[attr-defined]
    # THEN only the application's call is counted, by service and operation
    assert calls.as_table(seen) == {"dynamodb.GetItem": 1}
    assert calls.of_service(seen, "dynamodb") == 1
    assert calls.of_service(seen, "kms") == 0


def test_importtime_tree_names_the_importing_line() -> None:
    # GIVEN -X importtime output (children are printed before their parent)
    roots = parse_importtime(IMPORTTIME)
    # THEN the tree is rebuilt
    assert [r.name for r in roots] == ["chalicelib.storage.base", "argon2", "app"]
    assert [c.name for c in roots[0].children] == ["pynamodb.connection", "dataclasses"]
    # AND each library import is attributed to the first-party module that made it;
    # the standard library is left out
    edges = third_party_edges(roots)
    assert edges == [
        {
            "importer": "chalicelib.storage.base",
            "module": "pynamodb.connection",
            "cumulative_ms": 2.6,
        },
        {"importer": TOP_LEVEL, "module": "argon2", "cumulative_ms": 1.0},
    ]


def test_the_test_time_comparison_matches_old_tests_by_module_and_name() -> None:
    from bench.test_time import match_tests

    report = """<testsuites><testsuite>
      <testcase classname="tests.service.test_documents" name="test_keys[a]" time="1"/>
      <testcase classname="tests.api.test_requests" name="test_filing" time="1"/>
      <testcase classname="tests.api.test_requests" name="test_gone" time="1"/>
      <testcase classname="tests.api.test_desk" name="test_skipped" time="0"><skipped/></testcase>
      <testcase classname="tests.unit.test_email" name="test_shared" time="1"/>
    </testsuite></testsuites>"""
    collected = [
        "tests/storage/test_documents.py::test_keys[a]",  # moved to another tier
        "tests/api/test_appeals.py::test_filing",  # its module renamed, the name unique
        "tests/unit/test_email.py::test_shared",
        "tests/unit/test_phone.py::test_shared",  # the same name elsewhere: by module
    ]

    found = match_tests(report, collected)

    assert found.node_ids == [
        "tests/api/test_appeals.py::test_filing",
        "tests/storage/test_documents.py::test_keys[a]",
        "tests/unit/test_email.py::test_shared",
    ]
    assert found.unmatched == ["tests.api.test_requests::test_gone"]
    assert found.old_tests == 4
