{{ config(severity='warn') }}
-- Warns (never blocks the marts) while anything is unattributed or quarantined.
select
    issue_kind,
    source,
    subject,
    affected_rows
from {{ ref('data_issues') }}
