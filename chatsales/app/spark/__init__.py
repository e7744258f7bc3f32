"""The local Spark cluster (`chatsales spark start|stop|status`): a standalone master, two
workers and the Thrift JDBC server, all from the pip-installed pyspark in .venv-spark."""
