"""What an alert's actions send, and sending it after the commit.

``render_actions`` turns a firing into, per action, the message Sentry would send (spec §7): the
legacy WebHooks plugin body for ``webhook``, the integration platform's ``event_alert`` /
``metric_alert`` body for ``sentry_app``, a Slack ``chat.postMessage`` body, a PagerDuty Events
v2 body, an e-mail. Messages link to ``<base_url>/organizations/sentry/issues/<id>/``.

``Dispatcher`` is a background thread woken after every commit: it picks up firings whose
deliveries are pending, POSTs each message that has a URL (webhook and sentry_app always; Slack,
PagerDuty and e-mail when given ``url``), retrying connection errors, 429 and 5xx three times,
and records the outcome. Ingestion never waits for it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import orjson

from .. import __version__
from ..outbound import Sender, backoff, post
from ..protocol.payload import formatted_message
from ..settings.values import Ownership
from ..storage.database import Database
from ..storage.projects import ProjectRegistry
from . import history
from .ownership import matching_rules, owners_of

ORGANIZATION = "sentry"
ATTEMPTS = 3
TIMEOUT = 3.0  # seconds, as Sentry's WebHooks plugin
BACKOFF = 0.2  # seconds before the second attempt; doubles
PAGERDUTY_SEVERITY = {"fatal": "critical", "error": "error", "warning": "warning"}


def render_actions(firing: dict, base_url: str, ownership: Ownership) -> list[dict]:
    """Per action of ``firing``: its kind, target, the message it sends and where to."""
    render = _render_metric if firing["rule_kind"] == "metric" else _render_issue
    rendered = []
    for action in firing["actions"]:
        kind = action["kind"]
        message, headers = render(kind, action, firing, base_url, ownership)
        rendered.append(
            {
                "kind": kind,
                "id": action["id"],
                "target": _target(action, firing, ownership),
                "url": action.get("url"),
                "message": message,
                "headers": headers,
            }
        )
    return rendered


def ownership_of(projects: ProjectRegistry, slug: str | None) -> Ownership:
    project = projects.by_slug(slug) if slug else None
    return project.rules.ownership if project is not None else Ownership()


def issue_url(base_url: str, issue_id: Any) -> str:
    return f"{base_url}/organizations/{ORGANIZATION}/issues/{issue_id}/"


# --- issue alerts -------------------------------------------------------------------------------


def _render_issue(
    kind: str, action: dict, firing: dict, base_url: str, ownership: Ownership
) -> tuple[dict, dict]:
    issue = firing["context"]["issue"]
    event = dict(firing.get("event") or {})
    project = firing["project"]
    link = issue_url(base_url, issue["id"])
    tags = _tag_pairs(firing)
    rule = firing["rule_name"]
    event_id = firing["event_id"]
    if kind == "webhook":
        body = {
            "id": str(issue["id"]),
            "project": project,
            "project_name": project,
            "project_slug": project,
            "logger": event.get("logger"),
            "level": issue["level"],
            "culprit": issue["culprit"],
            "message": formatted_message(event) or issue["title"],
            "url": f"{link}?referrer=webhooks_plugin",
            "triggering_rules": [rule],
            "event": {**event, "tags": tags, "event_id": event_id, "id": event_id},
        }
        return body, {"User-Agent": f"sentry-webhooks/{__version__}"}
    if kind == "sentry_app":
        event_links = {
            "url": f"{base_url}/api/0/projects/{ORGANIZATION}/{project}/events/{event_id}/",
            "web_url": f"{link}events/{event_id}/",
            "issue_url": f"{base_url}/api/0/issues/{issue['id']}/",
            "issue_id": str(issue["id"]),
        }
        data = {
            "event": {**event, "tags": tags, "title": issue["title"], **event_links},
            "triggered_rule": rule,
            "issue_alert": {"title": rule, "settings": action.get("settings", [])},
        }
        return _sentry_app_body("triggered", data), {"Sentry-Hook-Resource": "event_alert"}
    if kind == "slack":
        shown = [k.strip() for k in str(action.get("tags", "")).split(",") if k.strip()]
        fields = [f"*{k}:* {v}" for k, v in tags if k in shown]
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*<{link}|{issue['title']}>*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": issue["culprit"] or " "}},
        ]
        if fields:
            blocks.append({"type": "context", "elements": _mrkdwn(fields)})
        if action.get("notes"):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": action["notes"]}})
        footer = f"{project} | {issue['short_id']} | Alert: {rule}"
        blocks.append({"type": "context", "elements": _mrkdwn([footer])})
        return _slack(action, f"[{project}] {issue['title']}", blocks), {}
    if kind == "pagerduty":
        severity = action.get("severity", "default")
        if severity == "default":
            severity = PAGERDUTY_SEVERITY.get(issue["level"] or "", "info")
        body = _pagerduty(action, "trigger", f"issue:{issue['id']}", link, "View Issue Details")
        body["payload"] = {
            "summary": issue["title"][:1024],
            "severity": severity,
            "source": issue["culprit"] or project,
            "component": project,
            "custom_details": {"rule": rule, "short_id": issue["short_id"], "tags": dict(tags)},
        }
        return body, {}
    return {
        "to": _recipients(action, firing, ownership),
        "subject": f"[Sentry] {issue['short_id']} - {issue['title']}",
        "text": "\n".join(
            [issue["title"], issue["culprit"] or "", f"Rule: {rule}", f"Details: {link}"]
        ),
    }, {}


# --- metric alerts ------------------------------------------------------------------------------


def _render_metric(
    kind: str, action: dict, firing: dict, base_url: str, ownership: Ownership
) -> tuple[dict, dict]:
    metric = firing["context"]["metric_alert"]
    status = firing["status"]
    title = f"{status.capitalize()}: {metric['name']}"
    reason = "; ".join(firing["reasons"])
    link = f"{base_url}/organizations/{ORGANIZATION}/alerts/rules/details/{firing['id']}/"
    if kind in ("webhook", "sentry_app"):
        data = {
            "metric_alert": {
                "id": str(firing["id"]),
                "title": metric["name"],
                "status": 2 if status == "resolved" else 1,
                "date_started": _iso(firing["fired_at"]),
                "alert_rule": {
                    "name": metric["name"],
                    "aggregate": metric["aggregate"],
                    "query": metric["query"],
                    "dataset": metric["dataset"],
                    "environment": metric["environment"],
                    "time_window": metric["time_window"],
                    "threshold_type": 0 if metric["threshold_type"] == "above" else 1,
                    "resolve_threshold": metric["resolve_threshold"],
                    "triggers": metric["triggers"],
                },
            },
            "description_title": title,
            "description_text": reason,
            "web_url": link,
        }
        return _sentry_app_body(status, data), {"Sentry-Hook-Resource": "metric_alert"}
    if kind == "slack":
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*<{link}|{title}>*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": reason}},
        ]
        return _slack(action, title, blocks), {}
    if kind == "pagerduty":
        event_action = "resolve" if status == "resolved" else "trigger"
        body = _pagerduty(action, event_action, f"metric:{metric['name']}", link, "View Alert")
        severity = action.get("severity", "default")
        body["payload"] = {
            "summary": title,
            "severity": "critical"
            if severity == "default" and status == "critical"
            else ("warning" if severity == "default" else severity),
            "source": firing["project"],
            "custom_details": {"reason": reason, "value": metric["value"]},
        }
        return body, {}
    return {
        "to": _recipients(action, firing, ownership),
        "subject": title,
        "text": f"{title}\n{reason}\nDetails: {link}",
    }, {}


# --- shared pieces ------------------------------------------------------------------------------


def _sentry_app_body(action: str, data: dict) -> dict:
    return {
        "action": action,
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
        "installation": {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "sentry-stub"))},
        "data": data,
    }


def _slack(action: dict, text: str, blocks: list[dict]) -> dict:
    return {
        "channel": action.get("channel_id") or action.get("channel"),
        "text": text,
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _pagerduty(action: dict, event_action: str, dedup: str, link: str, text: str) -> dict:
    return {
        "routing_key": str(action.get("service") or action.get("account") or ""),
        "event_action": event_action,
        "dedup_key": dedup,
        "client": "sentry",
        "client_url": link,
        "links": [{"href": link, "text": text}],
    }


def _mrkdwn(texts: list[str]) -> list[dict]:
    return [{"type": "mrkdwn", "text": text} for text in texts]


def _recipients(action: dict, firing: dict, ownership: Ownership) -> list[str]:
    target = action.get("targetType", "IssueOwners")
    if target != "IssueOwners":
        return [f"{target.lower()}:{action.get('targetIdentifier', '')}"]
    owners = [str(o) for o in owners_of(matching_rules(ownership.rules, firing.get("event") or {}))]
    if owners:
        return owners
    fallthrough = action.get("fallthroughType", "ActiveMembers")
    return [] if fallthrough == "NoOne" or not ownership.fallthrough else [f"({fallthrough})"]


def _target(action: dict, firing: dict, ownership: Ownership) -> str:
    kind = action["kind"]
    if kind == "slack":
        return str(action.get("channel"))
    if kind == "pagerduty":
        return f"service {action.get('service', '')}".strip()
    if kind == "email":
        return ", ".join(_recipients(action, firing, ownership)) or "(no one)"
    return str(action.get("url"))


def _tag_pairs(firing: dict) -> list[list]:
    """The event's tags as ``[[key, value], ...]`` with Sentry's level/environment/release."""
    pairs = [list(pair) for pair in firing.get("event_tags") or []]
    present = {key for key, _ in pairs}
    event = firing.get("event") or {}
    derived = {
        "level": firing["context"]["issue"]["level"],
        "environment": event.get("environment"),
        "release": event.get("release"),
    }
    pairs += [[k, v] for k, v in derived.items() if v and k not in present]
    return pairs


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


# --- delivery -----------------------------------------------------------------------------------


def post_json(url: str, body: dict, headers: dict, secret: str | None = None) -> dict:
    """POST ``body`` with retries; the outcome as an ``action_results`` row (without ids)."""
    payload = orjson.dumps(body)
    headers = {"Content-Type": "application/json", **headers}
    if "Sentry-Hook-Resource" in headers:
        headers["Request-ID"] = str(uuid.uuid4())
        headers["Sentry-Hook-Timestamp"] = str(int(time.time()))
        if secret:
            digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
            headers["Sentry-Hook-Signature"] = digest
    parts = urlsplit(url)
    if not parts.hostname:  # "http://" alone passes the config's check
        return {
            "status": "failed",
            "attempts": 0,
            "status_code": None,
            "error": f"no host in the URL {url!r}",
            "finished_at": time.time(),
        }
    status_code, error = None, None
    for attempt in range(1, ATTEMPTS + 1):
        answer = post(url, payload, headers, TIMEOUT)
        status_code, error = answer.status, answer.error
        if status_code is not None and status_code < 500 and status_code != 429:
            break
        error = error or f"HTTP {status_code}"
        if attempt < ATTEMPTS:
            time.sleep(backoff(attempt, BACKOFF, BACKOFF * 2**ATTEMPTS))
    delivered = status_code is not None and 200 <= status_code < 300
    return {
        "status": "delivered" if delivered else "failed",
        "attempts": attempt,
        "status_code": status_code,
        "error": None if delivered else error or f"HTTP {status_code}",
        "finished_at": time.time(),
    }


class Dispatcher:
    """Delivers pending firings in a background thread; ``wake`` after each commit."""

    def __init__(self, database: Database, projects: ProjectRegistry, base_url: str):
        self.database = database
        self.projects = projects
        self.base_url = base_url
        self._sender = Sender("sentry-stub-alerts", self.deliver_pending, ATTEMPTS * (TIMEOUT + 1))
        self._newest_firing = -1  # the newest firing already looked at; -1: look at all

    def start(self) -> None:
        self._sender.start()

    def wake(self) -> None:
        self._sender.wake()

    def stop(self) -> None:
        self._sender.stop()

    def deliver_pending(self) -> None:
        # Woken after every commit: a cheap look at the newest firing spares the full read.
        connection = self.database.reader()
        newest = connection.execute("SELECT COALESCE(MAX(id), 0) FROM alert_firings").fetchone()[0]
        if newest == self._newest_firing:
            return
        self._newest_firing = newest
        pending = history.firings(connection, undelivered=True)
        for firing in pending:
            ownership = ownership_of(self.projects, firing["project"])
            results = []
            for index, rendered in enumerate(render_actions(firing, self.base_url, ownership)):
                url = rendered["url"]
                if not url:
                    continue
                secret = firing["actions"][index].get("secret")
                outcome = post_json(url, rendered["message"], rendered["headers"], secret)
                results.append(
                    {"action_index": index, "kind": rendered["kind"], "url": url, **outcome}
                )
            save = partial(_save_results, firing_id=firing["id"], results=results)
            self.database.writer.run_sync(save)


def _save_results(connection: Any, firing_id: int, results: list[dict]) -> None:
    for result in results:
        columns = ", ".join(["firing_id", *result])
        marks = ", ".join("?" * (len(result) + 1))
        connection.execute(
            f"INSERT INTO action_results ({columns}) VALUES ({marks})",
            (firing_id, *result.values()),
        )
    connection.execute(
        "UPDATE alert_firings SET pending_deliveries = 0, dispatched_at = ? WHERE id = ?",
        (time.time(), firing_id),
    )
