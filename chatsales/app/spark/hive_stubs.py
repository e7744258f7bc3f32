"""The one Hive class the Thrift server needs and pyspark's jars lack, compiled for its driver.

pyspark ships Hive 2.3's `hive-exec` without `hive-llap-common`. When the Thrift server
closes a session on a thread that holds no Hive client, Hive creates one and registers all
its functions; `FunctionRegistry` then fails to initialize, because `GenericUDTFGetSplits`
refers to `LlapSigner.Signable` (NoClassDefFoundError). The session close fails, or its
handler thread dies and the client reads `TSocket read 0 bytes`: about once in 800 sessions
here, enough to fail one `chatsales run` in a few. With this interface on the driver's class
path, `FunctionRegistry` initializes. It is compiled from `hive_stubs/` by Janino, the Java
compiler inside Spark's own jars (a JRE has no javac), through py4j, both in .venv-spark.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from .paths import spark_home, spark_python, spark_venv

SOURCES = Path(__file__).with_name("hive_stubs")

# Runs in .venv-spark: compile the given .java files into a folder, with Janino over py4j.
COMPILE = """
import sys
from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway
jars, out, *sources = sys.argv[1:]
port = launch_gateway(classpath=jars, die_on_exit=True)
gateway = JavaGateway(gateway_parameters=GatewayParameters(port=port))
try:
    File = gateway.jvm.java.io.File
    compiler = gateway.jvm.org.codehaus.janino.Compiler()
    compiler.setDestinationDirectory(File(out), False)
    files = gateway.new_array(File, len(sources))
    for n, source in enumerate(sources):
        files[n] = File(source)
    compiler.compile(files)
finally:
    gateway.shutdown()
"""


def classes_dir() -> Path:
    """Where the compiled stubs go, for `spark.driver.extraClassPath`."""
    return spark_venv() / "chatsales-hive-stubs"


def compiler_classpath() -> str:
    """Janino and its API, from Spark's jars."""
    jars = spark_home() / "jars"
    return ":".join(
        str(next(jars.glob(f"{name}-*.jar"))) for name in ("janino", "commons-compiler")
    )


def compile_if_changed() -> Path:
    """Compile the stubs into `classes_dir()` unless they were compiled from these sources (a
    stamp of their hash); the folder."""
    sources = sorted(SOURCES.rglob("*.java"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    folder = classes_dir()
    stamp = folder / ".sources.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(spark_python()), "-c", COMPILE, compiler_classpath(), str(folder),
         *map(str, sources)],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    stamp.write_text(digest)
    return folder
