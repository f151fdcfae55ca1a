#include "beamline/nats/protocol/subject.hpp"

namespace beamline::nats
{
namespace
{

bool forbidden(char c) noexcept
{
    auto u = static_cast<unsigned char>(c);
    return u <= 32 || u == 127;
}

bool valid_subject(std::string_view s, bool wildcards) noexcept
{
    if (s.empty()) return false;
    std::size_t token_start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i)
    {
        if (i == s.size() || s[i] == '.')
        {
            std::string_view token = s.substr(token_start, i - token_start);
            if (token.empty()) return false;
            bool wildcard_token = token == "*" || token == ">";
            if (wildcard_token && !wildcards) return false;
            if (token == ">" && i != s.size()) return false;
            if (!wildcard_token)
                for (char c : token)
                    if (wildcards && (c == '*' || c == '>')) return false;
            token_start = i + 1;
            continue;
        }
        if (forbidden(s[i])) return false;
    }
    return true;
}

} // namespace

bool valid_publish_subject(std::string_view subject) noexcept { return valid_subject(subject, false); }
bool valid_subscribe_subject(std::string_view subject) noexcept { return valid_subject(subject, true); }

bool valid_queue_name(std::string_view queue) noexcept
{
    if (queue.empty()) return false;
    for (char c : queue)
        if (forbidden(c)) return false;
    return true;
}

} // namespace beamline::nats
