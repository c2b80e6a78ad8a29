import os
import sys
from pathlib import Path

import pytest

#: The seed example bundled with the core (a DMS full load and five change files).
SEED = Path(__file__).resolve().parents[2] / "core" / "data" / "seed"


@pytest.fixture(scope="session")
def seed() -> Path:
    return SEED


@pytest.fixture(scope="session")
def spark():
    """A local Spark on two cores, its Python workers this interpreter (where the wheel is)."""
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tidemark-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
