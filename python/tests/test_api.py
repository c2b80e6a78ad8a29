"""The Python API on one machine: inputs and outputs, errors, interop, specs."""

import datetime as dt
import pickle

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tidemark

CHANGE_FILES = [
    "20211017-194324349.csv",
    "20211018-223933563.csv",
    "20211018-224657689.csv",
    "20211018-225235856.csv",
    "20211018-225959941.csv",
]


def seed_run(seed, **kwargs):
    return tidemark.apply(seed / "LOAD00000001.csv", [seed / f for f in CHANGE_FILES], **kwargs)


def test_the_seed_applied_from_files_is_the_demo(seed):
    result = seed_run(seed)
    assert result.table.num_rows == 110
    assert result.report["apply"]["outcome"]["inserted"] == 7
    assert result.report["apply"]["outcome"]["updated"] == 3
    assert result.report["features"]["as_of"] == "2021-10-18"
    austin = [r for r in result.enriched.to_pylist() if r["user_id"] == 73][0]
    assert austin["state"] == "Texas"
    assert austin["last_login_rank_by_city"] == 3
    assert austin["users_by_city"] == 3


def test_outputs_are_pyarrow_tables_with_plain_types(seed):
    result = seed_run(seed)
    for table in (result.table, result.diff, result.enriched):
        assert isinstance(table, pa.Table)
        assert not any(pa.types.is_dictionary(f.type) for f in table.schema)
    assert result.table.schema.names == ["user_id", "name", "city", "last_login"]
    assert result.history is None and result.change_log is None
    assert result.state is None, "the seed's changes carry no sequence"


def test_the_report_is_a_dict_of_report_json(seed):
    report = seed_run(seed).report
    assert report["table"] == "users"
    assert [f["file"] for f in report["changes"]] == [str(seed / f) for f in CHANGE_FILES]
    assert report["features"]["as_of_source"] == f"newest change file name ({seed / CHANGE_FILES[-1]})"


def test_changes_apply_in_the_order_of_their_names_not_the_order_given(seed):
    in_order = seed_run(seed)
    shuffled = tidemark.apply(seed / "LOAD00000001.csv", [seed / f for f in reversed(CHANGE_FILES)])
    assert shuffled.table.equals(in_order.table)
    assert shuffled.diff.equals(in_order.diff)


def test_tables_in_give_what_files_give(seed):
    spec = tidemark.spec("users")
    snapshot = tidemark.decode(seed / "LOAD00000001.csv", spec=spec)
    changes = {f: (seed / f).read_bytes() for f in CHANGE_FILES}
    from_tables = tidemark.apply(snapshot, changes)
    from_files = tidemark.apply(seed / "LOAD00000001.csv", changes)
    assert from_tables.table.equals(from_files.table)
    assert from_tables.enriched.equals(from_files.enriched)


def test_a_named_change_table_takes_its_place_among_files_by_name(seed):
    # A late update of user 6 named before the last file: the last file does not touch user 6,
    # so it stays; then a table named after every file updates it again.
    update = lambda name: pa.table({  # noqa: E731
        "Op": ["U"], "user_id": [6], "name": [name], "city": ["Austin"], "last_login": ["2021-10-19"],
    })
    files = [seed / f for f in CHANGE_FILES]
    result = tidemark.apply(seed / "LOAD00000001.csv", files + [
        ("20211018-000000000.parquet", update("first")),
        ("20211019-000000000.parquet", update("last")),
    ])
    row = result.diff.filter(pa.compute.equal(result.diff["user_id"], 6)).to_pylist()[0]
    assert row["after_name"] == "last"
    assert row["changes"] == 3
    assert row["source_file"] == "20211019-000000000.parquet"


def test_polars_and_pandas_frames_are_tables(seed):
    spec = tidemark.spec("users")
    snapshot = tidemark.decode(seed / "LOAD00000001.csv", spec=spec)
    change = {"Op": ["U", "I"], "user_id": [6, 500], "name": ["Mindy", "New"],
              "city": ["Austin", "Boston"], "last_login": ["2021-10-19", "2021-10-19"]}
    expected = tidemark.apply(snapshot, {"20211019-000000000.csv": pa.table(change)})
    with_polars = tidemark.apply(pl.from_arrow(snapshot), {"20211019-000000000.csv": pl.DataFrame(change)})
    with_pandas = tidemark.apply(snapshot.to_pandas(), {"20211019-000000000.csv": pd.DataFrame(change)})
    assert with_polars.table.equals(expected.table)
    assert with_pandas.table.equals(expected.table)
    # And back: the results are Arrow, which both read without a copy.
    assert pl.from_arrow(with_polars.enriched).height == 104
    assert len(with_pandas.diff.to_pandas()) == 2


def test_a_bad_value_raises_tidemark_error_naming_file_row_and_column(seed):
    bad = pa.table({"Op": ["U", "U"], "user_id": [6, 7], "name": ["a", "b"],
                    "city": ["x", "y"], "last_login": ["2021-10-19", "2021-02-30"]})
    with pytest.raises(tidemark.TidemarkError) as error:
        tidemark.apply(seed / "LOAD00000001.csv", {"20211019-000000000.parquet": bad})
    assert error.value.file == "20211019-000000000.parquet"
    assert error.value.row == 2
    assert error.value.column == "last_login"
    assert error.value.kind == "Parse"
    assert "2021-02-30" in str(error.value)


def test_an_error_in_a_file_names_the_file_as_given(seed, tmp_path):
    bad = tmp_path / "20211019-000000000.csv"
    bad.write_text("U,6,Mindy,Austin,2021-10-19\nX,7,Bob,Austin,2021-10-19\n")
    with pytest.raises(tidemark.TidemarkError) as error:
        tidemark.apply(seed / "LOAD00000001.csv", [bad])
    assert (error.value.file, error.value.row, error.value.kind) == (str(bad), 2, "UnknownOp")


def test_a_duplicate_key_in_a_snapshot_table_is_an_error():
    snapshot = pa.table({"user_id": [1, 1], "name": ["a", "b"], "city": ["x", "y"],
                         "last_login": [dt.date(2021, 1, 1)] * 2})
    with pytest.raises(tidemark.TidemarkError) as error:
        tidemark.apply(snapshot)
    assert error.value.kind == "DuplicateKey"
    assert error.value.row == 2


def test_a_spec_error_is_a_tidemark_error_without_a_place():
    with pytest.raises(tidemark.TidemarkError) as error:
        tidemark.spec({"table": {"name": "t", "key": []}})
    assert error.value.kind == "Spec"
    assert error.value.file is None and error.value.row is None


def test_specs_from_presets_toml_dicts_and_files_agree(tmp_path, seed):
    users = tidemark.spec("users")
    toml = (seed.parent / "users.toml").read_text()
    (tmp_path / "users.toml").write_text(toml)
    assert tidemark.spec() == users
    assert tidemark.spec(toml) == users
    assert tidemark.spec(tmp_path / "users.toml") == users
    assert tidemark.spec(str(tmp_path / "users.toml")) == users
    import json
    assert tidemark.spec(json.loads(users.to_json())) == users
    assert users.key == ["user_id"] and users.group == "city"


def test_a_spec_pickles_as_spark_ships_it():
    spec = tidemark.spec("users")
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_a_window_out_of_range_is_an_error(seed):
    with pytest.raises(tidemark.TidemarkError) as error:
        seed_run(seed, window_days=0)
    assert error.value.kind == "WindowDays"


def test_as_of_and_window_given_change_the_features(seed):
    result = seed_run(seed, as_of=dt.date(2021, 12, 31), window_days=30)
    assert result.report["features"]["as_of"] == "2021-12-31"
    assert result.report["features"]["as_of_source"] == "given"
    assert all(r["login_rate_last_3_months_by_city"] == 0 for r in result.enriched.to_pylist())


def test_the_state_of_a_run_feeds_the_next_and_a_replay_changes_nothing(tmp_path):
    from workloads import generate

    workload = generate(tmp_path, seed=7, rows=200, files=3, changes_per_file=40)
    first = tidemark.apply(workload.snapshot, workload.change_files)
    assert first.state is not None
    again = tidemark.apply(first.table, workload.change_files, state=first.state)
    assert again.table.sort_by("user_id").equals(first.table.sort_by("user_id"))
    assert again.report["apply"]["outcome"]["updated"] == 0
    assert again.report["apply"]["outcome"]["inserted"] == 0


def test_decode_gives_change_rows_with_their_operation_and_place(seed):
    rows = tidemark.decode(seed / CHANGE_FILES[0], changes=True)
    assert rows.column_names[0] == "_tidemark_op"
    assert rows["_tidemark_op"].to_pylist() == ["U", "I", "I", "I", "U", "U"][: rows.num_rows]
    assert rows["_tidemark_row"].to_pylist() == list(range(1, rows.num_rows + 1))
    assert set(rows["_tidemark_file"].to_pylist()) == {str(seed / CHANGE_FILES[0])}


def test_a_folder_of_full_load_parts_is_the_snapshot(seed, tmp_path):
    lines = (seed / "LOAD00000001.csv").read_text().splitlines(keepends=True)
    parts = tmp_path / "load"
    parts.mkdir()
    (parts / "LOAD00000001.csv").write_text("".join(lines[:50]))
    (parts / "LOAD00000002.csv").write_text("".join(lines[50:]))
    from_parts = tidemark.apply(parts, [seed / f for f in CHANGE_FILES])
    assert from_parts.table.equals(seed_run(seed).table)
    assert from_parts.report["snapshot"]["files"] == [str(parts / "LOAD00000001.csv"), str(parts / "LOAD00000002.csv")]
