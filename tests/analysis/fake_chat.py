"""A scripted LangChain chat model that answers structured-output calls.

`with_structured_output` on a BaseChatModel binds the schema as a tool and parses the tool call,
so this model answers with a tool call whose arguments come from `respond(schema_name, messages)`
(a string answer is sent as plain content, i.e. a model ignoring the schema). Usage is reported
like a real provider's: input tokens ≈ characters / 4 of the messages and the tool schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

Responder = Callable[[str, list[BaseMessage]], dict[str, Any] | str]


def estimated_tokens(text: str) -> int:
    return len(text) // 4


class ScriptedChatModel(BaseChatModel):
    respond: Responder
    model_name: str = "scripted"
    seen: list[str] = Field(default_factory=list)
    """Schema names asked for, in call order (one entry per call)."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools") or []
        name = tools[0]["function"]["name"] if tools else ""
        self.seen.append(name)
        answer = self.respond(name, messages)
        prompt = "".join(str(m.content) for m in messages) + json.dumps(tools)
        content = answer if isinstance(answer, str) else ""
        calls = [] if isinstance(answer, str) else [{"name": name, "args": answer, "id": "c1"}]
        message = AIMessage(
            content=content,
            tool_calls=calls,
            usage_metadata={
                "input_tokens": estimated_tokens(prompt),
                "output_tokens": estimated_tokens(json.dumps(answer)),
                "total_tokens": estimated_tokens(prompt) + estimated_tokens(json.dumps(answer)),
            },
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class FakeToolChatModel(GenericFakeChatModel):
    """LangChain's GenericFakeChatModel made usable with `with_structured_output`."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self
