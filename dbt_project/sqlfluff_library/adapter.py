"""Lint-time stand-in for dbt's `adapter` object, which sqlfluff's jinja templater lacks.

`adapter.dispatch('percentile', 'chatsales')('x', 0.5)` renders as `percentile(x, 0.5)`,
a plain function call, so models that use dispatched macros still parse and lint. A type
(`sql_type('double precision')`) renders as the type itself, the PostgreSQL spelling; CTEs
(`one_row_ctes(ctes, …)`) as written.
"""

AS_GIVEN = {"sql_type", "one_row_ctes"}


def dispatch(macro_name, macro_namespace=None):
    def render(*args):
        if macro_name in AS_GIVEN:
            return str(args[0])
        return f"{macro_name}({', '.join(str(arg) for arg in args)})"

    return render
