"""The ceiling: a bare FastAPI endpoint that parses a JSON body into a Pydantic model and answers 202."""

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel

app = FastAPI()


class Message(BaseModel):
    phone: str
    text: str
    client_message_id: str | None = None


@app.post("/echo", status_code=202, response_class=ORJSONResponse)
async def echo(m: Message) -> dict[str, str]:
    return {"tracking_number": m.client_message_id or ""}
