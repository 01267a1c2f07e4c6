"""One module per kind of page; each exposes ``router``."""

from placehub.web.views import (
    admin,
    air,
    alerts,
    assets,
    auth,
    care,
    data,
    devices,
    info,
    jobs,
    overview,
    places,
    planning,
    public,
    residents,
    responsible,
    rounds,
    setup,
    tiles,
)

ROUTERS = [
    auth.router, public.router, overview.router, assets.router, rounds.router, alerts.router,
    air.router, devices.router, places.router, jobs.router, planning.router, info.router,
    setup.router, admin.router, residents.router, responsible.router, care.router,
    tiles.router, data.router,
]
