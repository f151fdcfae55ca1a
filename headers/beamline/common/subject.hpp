#pragma once
// Subject, reply-to and queue-group names (ADR-6): non-empty, no whitespace or control characters,
// no empty tokens; in subscriptions `*` and `>` only as whole tokens, `>` only last.

#include <string_view>

namespace beamline::nats
{

/// A subject to publish to (no wildcards).
bool valid_publish_subject(std::string_view subject) noexcept;
/// A subject to subscribe to (wildcards allowed as whole tokens).
bool valid_subscribe_subject(std::string_view subject) noexcept;
/// A queue group name: non-empty, no whitespace.
bool valid_queue_name(std::string_view queue) noexcept;

} // namespace beamline::nats
