"""Lint-time stand-in for dbt's `adapter` object, which sqlfluff's jinja templater lacks.

`adapter.dispatch('percentile', 'chatsales')('x', 0.5)` renders as `percentile(x, 0.5)`,
a plain function call, so models that use dispatched macros still parse and lint. A type
(`sql_type('double precision')`) renders as the type itself, the PostgreSQL spelling; a CTE
(`one_row_cte(name, body, …)`) as `name as (body)`, and a chat's partition as the chat, as
PostgreSQL and DuckDB get them; what only Spark adds (`chat_bucket_column()`) as nothing, and
`replaced_by(…)`, config keys for `config(**…)`, as an empty mapping.
"""

AS_GIVEN = {"sql_type", "chat_partition"}
CTES = {"one_row_cte"}
SPARK_ONLY = {"chat_bucket_column"}
CONFIG_KEYS = {"replaced_by"}


def dispatch(macro_name, macro_namespace=None):
    def render(*args):
        if macro_name in AS_GIVEN:
            return str(args[0])
        if macro_name in SPARK_ONLY:
            return ""
        if macro_name in CONFIG_KEYS:
            return {}
        if macro_name in CTES:
            return f"{args[0]} as (\n{args[1]}\n)"
        return f"{macro_name}({', '.join(str(arg) for arg in args)})"

    return render
