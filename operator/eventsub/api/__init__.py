"""The eventsub.io/v1alpha1 API: pydantic models, the single source of truth for crds/."""

from eventsub.api.base import API_VERSION, GROUP, VERSION
from eventsub.api.connection import KafkaConnectionSpec, KafkaConnectionStatus
from eventsub.api.replay import EventReplaySpec, EventReplayStatus
from eventsub.api.resources import RESOURCES, Resource
from eventsub.api.subscription import EventSubscriptionSpec, EventSubscriptionStatus
from eventsub.api.topic import EventTopicSpec, EventTopicStatus

__all__ = [
    "API_VERSION", "GROUP", "RESOURCES", "VERSION", "EventReplaySpec", "EventReplayStatus",
    "EventSubscriptionSpec", "EventSubscriptionStatus", "EventTopicSpec", "EventTopicStatus",
    "KafkaConnectionSpec", "KafkaConnectionStatus", "Resource",
]
