"""Residents' reports: Open311 GeoReport v2 service requests, attached to the nearest matching
asset, turned into alerts (and mandatory stops), with status updates for the reporter.

What other concerns use: ``store.requested_stops`` (rounds: reports that ask for a mandatory
stop), ``store.asset_serviced`` (rounds: a done stop closes the asset's reports). The rest is
private to this package and its web routes.
"""
