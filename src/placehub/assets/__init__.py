"""Council assets: a Thing as a bin, flowerbed, air station, parking bay, depot or tip — its type,
position, places, latest readings, status judged against its own thresholds, forecast, open
alerts and service history. Every other concern asks here; nobody else decides "full", "dry"
or "silent".

What other concerns use: ``types`` (asset types), ``thresholds`` (type defaults, organisation
and per-asset overrides), ``levels`` (readings as levels), ``status`` (the judgement),
``summary`` (assets as lists and maps show them), ``history`` (assets with the history a
forecast needs), ``forecasting`` (forecasts through the rounds ``Forecaster``), ``detail`` (one
asset in full). The rest is private.
"""
