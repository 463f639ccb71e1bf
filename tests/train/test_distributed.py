"""Data-parallel training on real MPI jobs (``mpiexec -n 2`` and ``-n 3``, tests/train/mpi_job.py):
the same model as one process, exact resume with the same number of processes and refusal with
another, errors shared by every process, and an error on one process ending the job."""

import json
import os
import time

import numpy as np
import pytest

from helpers import run_mpi

JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_job.py")


def job(n, mode, outdir, *extra, timeout=120):
    result = run_mpi(n, "python", "-m", "mpi4py", JOB, mode, str(outdir), *extra,
                     timeout=timeout)
    reports = [json.loads((outdir / f"{r}.json").read_text()) for r in range(n)
               if (outdir / f"{r}.json").exists()]
    return result, reports


@pytest.mark.parametrize("n", [2, 3])
def test_n_processes_train_the_model_of_one(n, tmp_path):
    result, reports = job(n, "same", tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(reports) == n
    for name, entry in reports[0].items():
        # uneven shares, the last of three small: some batches have no row of it
        assert sum(r[name]["rows"] for r in reports) == (120 if name == "regression" else 150)
        # every process holds the same weights, bit for bit
        assert len({r[name]["digest"] for r in reports}) == 1, name
        # and they are one process's, to float32 rounding: within 1e-5 of each array's
        # largest entry; the bias of a Dense layer before a batch norm has a gradient of 0 but
        # for rounding, so its entries are rounding noise itself: they stay below 1e-5
        for key, (diff, scale) in entry["difference"].items():
            noise = name == "batchnorm" and key == "0.b"
            assert diff <= (1e-5 if noise else 1e-5 * scale), (name, key, diff, scale)
            assert not noise or scale < 1e-5
        mine, ref = entry["history"], entry["reference_history"]
        assert mine.keys() == ref.keys(), name
        for key in ref:
            np.testing.assert_allclose(mine[key], ref[key], rtol=1e-5, err_msg=f"{name} {key}")
    # the cases cover validation split, validation shares and the synchronised buffer
    assert "val_accuracy" in reports[0]["softmax"]["history"]
    assert "val_loss" in reports[0]["regression"]["history"]
    assert "0.mean" in reports[0]["synced_layer"]["difference"]
    # synchronised batch norm: the running statistics are the global batches' too
    assert {"1.running_mean", "1.running_var", "1.gamma"} <= set(
        reports[0]["batchnorm"]["difference"])


def test_resume_on_as_many_processes_is_bit_identical_and_another_number_is_refused(tmp_path):
    first = tmp_path / "two"
    first.mkdir()
    result, reports = job(2, "resume", first)
    assert result.returncode == 0, result.stderr
    for r in reports:
        assert r["interrupted"] is True
        assert r["resumed"] == r["whole"]  # bit-identical to the uninterrupted 2-process run
    # process 0 alone wrote the checkpoint; nothing half-written is left
    assert sorted(os.listdir(first)) == ["0.json", "1.json", "ckpt"]

    other = tmp_path / "three"
    other.mkdir()
    result, reports = job(3, "resume-other", other, str(first / "ckpt"))
    assert result.returncode == 0, result.stderr
    assert len(reports) == 3
    for r in reports:  # every process refuses, with the reason and what to do
        assert "written by a run on 2 processes, this run has 3" in r["error"]
        assert "mpiexec -n 2" in r["error"]


def test_a_bad_row_in_one_share_is_an_error_on_every_process(tmp_path):
    result, reports = job(2, "nan", tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["error"] for r in reports] == ["X contains nan at row 60, column 2"] * 2


def test_an_error_on_one_process_ends_the_job_within_seconds(tmp_path):
    start = time.monotonic()
    result, reports = job(2, "raise", tmp_path, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "boom on process 1" in result.stderr
    assert reports == []  # nobody finished the 50 epochs
    assert elapsed < 30


def test_comm_must_be_a_communicator():
    import backprop as bp

    X = np.zeros((4, 2), np.float32)
    with pytest.raises(TypeError, match=r"comm must be an mpi4py communicator \(MPI.COMM_WORLD\)"):
        bp.mlp([2, 1], seed=0).fit(X, np.zeros(4), comm=object())
