#pragma once
// Subject, reply-to and queue-group names, by the grammar of NATS ADR-6 (one rule for the client,
// the router and the configuration, so none accepts what another refuses):
//
//   token              = 1*(any byte but space, control characters, DEL, ".", "*", ">")
//   publish subject    = token *("." token)
//   subscribe subject  = (token / "*") *("." (token / "*")) ["." ">"]   ; or ">" alone
//
// So `*` and `>` are wildcards or nothing: `a.b*c` is refused everywhere, though nats-server would
// carry it, because no subscription can name that token without matching others. Bytes of 0x80 and
// up are accepted (nats-server routes UTF-8 subjects), never interpreted.

#include <cstddef>
#include <string_view>

namespace beamline::common
{

/// A subject to publish to: no wildcards.
bool valid_publish_subject(std::string_view subject) noexcept;
/// A subject to subscribe to: `*` as a whole token, `>` as the whole last token.
bool valid_subscribe_subject(std::string_view subject) noexcept;
/// One token: a queue group name, a stream or consumer name.
bool valid_token(std::string_view token) noexcept;
/// A queue group name is one token (ADR-6 `queue-name`).
inline bool valid_queue_name(std::string_view queue) noexcept
{
    return valid_token(queue);
}

/// The longest subject the router takes from a caller or from its configuration. nats-server closes
/// a connection whose control line exceeds 4096 bytes (`max_control_line`); with a subject and a
/// reply subject of at most this length each, `HPUB <subject> <reply> <sizes>\r\n` always fits.
inline constexpr std::size_t max_subject_bytes = 1024;

} // namespace beamline::common
