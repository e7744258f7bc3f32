{{ config(materialized='table') }}

with

metric_names as (

    select * from (
        values
        ('new_dialogs', 'New dialogs', 'Новые диалоги', 'count'),
        ('new_dialogs_incoming', 'Incoming new dialogs', 'Новые входящие диалоги', 'count'),
        ('new_dialogs_outgoing', 'Outgoing new dialogs', 'Новые исходящие диалоги', 'count'),
        ('new_clients', 'New clients', 'Новые клиенты', 'count'),
        ('dialogs_participated', 'Dialogs handled', 'Диалоги в работе', 'count'),
        ('messages_sent', 'Messages sent', 'Отправлено сообщений', 'count'),
        ('messages_received', 'Messages received', 'Получено сообщений', 'count'),
        ('messages_per_dialog', 'Messages per dialog', 'Сообщений на диалог', 'ratio'),
        (
            'messages_per_dialog_median', 'Messages per dialog, median',
            'Сообщений на диалог, медиана', 'ratio'
        ),
        ('waits_answered', 'Client requests answered', 'Отвеченные обращения', 'count'),
        (
            'waits_answered_within_sla', 'Requests answered within the SLA',
            'Обращения, отвеченные в срок', 'count'
        ),
        ('sla_share', 'Share answered within the SLA', 'Доля ответов в срок', 'share'),
        ('response_time_mean_s', 'Mean response time', 'Среднее время ответа', 'seconds'),
        ('response_time_median_s', 'Median response time', 'Медианное время ответа', 'seconds'),
        (
            'response_time_p90_s', 'Response time of the slowest tenth (p90)',
            'Время ответа самых медленных 10 %', 'seconds'
        ),
        (
            'first_response_time_median_s', 'Median first response time',
            'Медианное время первого ответа', 'seconds'
        ),
        (
            'business_response_time_mean_s', 'Mean response time in working hours',
            'Среднее время ответа в рабочие часы', 'seconds'
        ),
        (
            'business_response_time_median_s', 'Median response time in working hours',
            'Медианное время ответа в рабочие часы', 'seconds'
        ),
        (
            'business_response_time_p90_s', 'Slowest tenth (p90) in working hours',
            'Самые медленные 10 % в рабочие часы', 'seconds'
        ),
        ('peak_concurrent_dialogs', 'Peak concurrent dialogs', 'Пик одновременных диалогов', 'count'),
        ('won_deals', 'Won deals', 'Выигранные сделки', 'count'),
        ('conversion_rate', 'Conversion', 'Конверсия', 'share'),
        ('cohort_conversion_rate', 'Cohort conversion', 'Когортная конверсия', 'share')
    ) as metric_rows (metric, metric_name_en, metric_name_ru, unit)

),

final as (

    select
        metric,
        metric_name_en,
        metric_name_ru,
        unit,
        -- what a dashboard shows: minutes for durations, percent for shares
        case unit when 'seconds' then 'min' when 'share' then '%' end as shown_unit_en,
        case unit when 'seconds' then 'мин' when 'share' then '%' end as shown_unit_ru,
        case unit when 'seconds' then 1.0 / 60 when 'share' then 100.0 else 1.0 end as shown_factor
    from metric_names

)

select * from final
