"""One flat table of routes, so that finding a request's route is one pass over regexes.

FastAPI (0.116 and later) keeps an included router nested: `app.include_router(api)` adds
one `_IncludedRouter` whose routes are matched, on every request, by walking the router
tree (each level re-checks that no route was added since, through every nested router,
then tries each route through its inclusion context). With our 22 routers under /api/v1
that walk cost about 1 ms of CPU per request before any work was done, and the request
metrics (prometheus-fastapi-instrumentator) walk it a second time to name the handler.

`flatten_included_routers` replaces every included router of the app by the routes it
stands for, each built once as a direct route with exactly what the inclusion gives it
(path with the prefixes, tags, dependencies, responses, response class, callbacks, unique
id function, dependency overrides provider, body limit), in the same order: what was
matched first is still matched first, and the OpenAPI document is built from the same
values. Call it once every router is included and every route is final (after
app.core.idempotency adds its dependency to the POST routes), before anything else reads
the routes. A route added to a router after that is not served: add routes to the app.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute


def _direct(route: APIRoute, context: object) -> APIRoute:
    """A route of the same class as ``route`` with the values its inclusion resolved."""

    def value(name: str) -> Any:
        return getattr(context, name)

    route_class = type(route)
    return route_class(
        value("path"),
        endpoint=value("endpoint"),
        response_model=value("response_model"),
        status_code=value("status_code"),
        tags=list(value("tags")),
        dependencies=list(value("dependencies")),
        summary=value("summary"),
        description=value("description"),
        response_description=value("response_description"),
        responses=dict(value("responses")),
        deprecated=value("deprecated"),
        name=value("name"),
        methods=set(value("methods")),
        operation_id=value("operation_id"),
        response_model_include=value("response_model_include"),
        response_model_exclude=value("response_model_exclude"),
        response_model_by_alias=value("response_model_by_alias"),
        response_model_exclude_unset=value("response_model_exclude_unset"),
        response_model_exclude_defaults=value("response_model_exclude_defaults"),
        response_model_exclude_none=value("response_model_exclude_none"),
        include_in_schema=value("include_in_schema"),
        response_class=value("response_class"),
        dependency_overrides_provider=value("dependency_overrides_provider"),
        callbacks=list(value("callbacks") or []) or None,
        openapi_extra=value("openapi_extra"),
        generate_unique_id_function=value("generate_unique_id_function"),
        strict_content_type=value("strict_content_type"),
        max_body_size=value("max_body_size"),
        form_limits=route.form_limits or None,
    )


def flatten_included_routers(app: FastAPI) -> None:
    flat: list[BaseRoute] = []
    for route in app.router.routes:
        if not callable(getattr(route, "effective_route_contexts", None)):
            flat.append(route)  # a route of the app itself
            continue
        for context in iter_route_contexts([route]):
            original = context.original_route
            if not isinstance(original, APIRoute):
                raise TypeError(f"cannot flatten an included {type(original).__name__}")
            flat.append(_direct(original, context))
    app.router.routes[:] = flat
