"""Response models of the HTTP API: the shapes ``/openapi.json`` documents for clients.

The routes build their answers as plain dicts, and those dicts are the contract: the models
here describe them without being applied to them. ``response_model=documented(M)`` makes
FastAPI document model ``M`` (with its examples) while it validates and serialises the
answer as any JSON value, exactly as before (in Rust: no extra cost on hot
paths, no field dropped, added or reordered). Schemathesis checks every answer against the
documented schema (``tests/api/test_openapi_fuzz.py``), so the models cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

__all__ = ["Shape", "documented", "example"]


class Shape(BaseModel):
    """A response shape: every declared field is in the answer; answers may carry more."""

    model_config = ConfigDict(extra="allow")


def example(value: dict[str, Any]) -> ConfigDict:
    """A model config whose JSON schema carries ``value`` as its example.

    FastAPI drops null members when it writes ``/openapi.json``, so an example holds no null
    (a nullable field gets a real value); the tests check every example against its schema.
    """
    return ConfigDict(extra="allow", json_schema_extra={"examples": [value]})


class _DocumentAs:
    """Annotation: validate and serialise as any JSON value, document as ``model``."""

    __slots__ = ("model",)

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.any_schema()

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # Through a list, so the model is emitted as a named component and referenced
        # ({"$ref": ".../Program"}), as FastAPI does for a plain response_model.
        items = handler(core_schema.list_schema(self.model.__pydantic_core_schema__))
        item: JsonSchemaValue = items["items"]
        return item


def documented(model: type[BaseModel]) -> Any:
    """``Annotated[dict[str, Any], <document as model>]``: a route's ``response_model``."""
    return Annotated[dict[str, Any], _DocumentAs(model)]
