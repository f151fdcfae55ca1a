#include "beamline/router/shared_state.hpp"

#include "beamline/router/decide_json.hpp"
#include "beamline/router/policy_store.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace beamline::router
{
namespace json = boost::json;

namespace
{

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, std::string_view bytes)
{
    for (unsigned char c : bytes)
    {
        out += hex_digits[c >> 4];
        out += hex_digits[c & 15];
    }
}

void append_hex64(std::string& out, std::uint64_t v)
{
    for (int shift = 60; shift >= 0; shift -= 4)
        out += hex_digits[(v >> shift) & 15];
}

std::optional<std::uint64_t> parse_hex64(std::string_view s)
{
    if (s.size() != 16) return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<json::object> parse_object(std::string_view value)
{
    boost::system::error_code ec;
    auto v = json::parse(value, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

const json::string* string_member(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v ? v->if_string() : nullptr;
}

} // namespace

std::string idempotency_record_key(std::string_view tenant_id, std::string_view idempotency_key)
{
    std::string out(tenant_id);
    out += '.';
    append_hex(out, idempotency_key);
    return out;
}

std::string sticky_record_key(std::string_view tenant_id, std::string_view policy_id, std::string_view session)
{
    std::string out(tenant_id);
    out += '.';
    out += policy_id;
    out += '.';
    if (session.empty()) out += '_'; // a KV key has no empty token
    append_hex(out, session);
    return out;
}

std::optional<std::string> policy_record_key(std::string_view tenant_id, std::string_view policy_id)
{
    if (!is_valid_store_id(tenant_id) || !is_valid_store_id(policy_id)) return std::nullopt;
    if (tenant_id.find('.') != std::string_view::npos) return std::nullopt;
    if (policy_id.front() == '.' || policy_id.back() == '.' || policy_id.find("..") != std::string_view::npos)
        return std::nullopt;
    return std::string(tenant_id) + "." + std::string(policy_id);
}

std::optional<policy_key> parse_policy_record_key(std::string_view key)
{
    auto dot = key.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    policy_key k{std::string(key.substr(0, dot)), std::string(key.substr(dot + 1))};
    if (!policy_record_key(k.tenant_id, k.policy_id)) return std::nullopt;
    return k;
}

std::string encode_idempotency_record(const idempotency_record& r)
{
    std::string fp;
    append_hex64(fp, r.fingerprint.high);
    append_hex64(fp, r.fingerprint.low);
    std::string out;
    append_json_value(out, json::object{{"fingerprint", fp}, {"reply", r.reply}});
    return out;
}

std::optional<idempotency_record> decode_idempotency_record(std::string_view value)
{
    auto o = parse_object(value);
    if (!o) return std::nullopt;
    const auto* fp = string_member(*o, "fingerprint");
    const auto* reply = string_member(*o, "reply");
    if (!fp || !reply || fp->size() != 32) return std::nullopt;
    std::string_view digits(*fp);
    auto high = parse_hex64(digits.substr(0, 16));
    auto low = parse_hex64(digits.substr(16));
    if (!high || !low) return std::nullopt;
    idempotency_record r;
    r.fingerprint = {*high, *low};
    r.reply.assign(reply->data(), reply->size());
    return r;
}

std::string encode_sticky_record(const sticky_record& r)
{
    std::string out;
    append_json_value(out, json::object{{"tenant_id", r.tenant_id},
                                        {"policy_id", r.policy_id},
                                        {"session", r.session},
                                        {"provider", r.provider},
                                        {"expires_at_unix_ms", r.expires_at_unix_ms}});
    return out;
}

std::optional<sticky_record> decode_sticky_record(std::string_view value)
{
    auto o = parse_object(value);
    if (!o) return std::nullopt;
    const auto* tenant = string_member(*o, "tenant_id");
    const auto* policy = string_member(*o, "policy_id");
    const auto* session = string_member(*o, "session");
    const auto* provider = string_member(*o, "provider");
    const auto* expires = o->if_contains("expires_at_unix_ms");
    if (!tenant || !policy || !session || !provider || provider->empty() || !expires || !expires->is_int64())
        return std::nullopt;
    sticky_record r;
    r.tenant_id.assign(tenant->data(), tenant->size());
    r.policy_id.assign(policy->data(), policy->size());
    r.session.assign(session->data(), session->size());
    r.provider.assign(provider->data(), provider->size());
    r.expires_at_unix_ms = expires->get_int64();
    return r;
}

} // namespace beamline::router
