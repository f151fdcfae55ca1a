#include "beamline/http/auth.hpp"

#include <boost/beast/core/string.hpp>
#include <memory>

namespace beamline::http
{
namespace
{

response unauthorized(std::string_view why)
{
    auto res = error_response(status::unauthorized, "unauthorized", why);
    res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"beamline-router\"");
    return res;
}

boost::asio::awaitable<response> guarded(std::shared_ptr<const bearer_auth> auth,
                                         std::shared_ptr<const handler> h, const request& req)
{
    if (auto refusal = auth->check(req)) co_return std::move(*refusal);
    co_return co_await (*h)(req);
}

} // namespace

bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept
{
    // Every byte of `expected` is visited whatever `presented` holds; a length mismatch is folded
    // into the result instead of returning early.
    volatile unsigned char diff = presented.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < expected.size(); ++i)
    {
        const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
        diff = diff | (p ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0;
}

bearer_auth::bearer_auth(std::optional<std::string> token) : token_(token.value_or(std::string())) {}

std::optional<response> bearer_auth::check(const request& req) const
{
    if (token_.empty())
        return error_response(
            status::forbidden, "admin_disabled",
            "admin endpoints are disabled: no admin token is configured (http.admin_token)");
    if (auto why = bearer_problem(req.header("Authorization"), token_)) return unauthorized(*why);
    return std::nullopt;
}

std::optional<std::string> bearer_problem(std::string_view header, std::string_view token)
{
    if (header.empty()) return "missing Authorization: Bearer <token> header";
    constexpr std::string_view scheme = "bearer ";
    if (header.size() <= scheme.size() || !boost::beast::iequals(header.substr(0, scheme.size()), scheme))
        return "Authorization header must use the Bearer scheme";
    auto presented = header.substr(scheme.size());
    while (!presented.empty() && presented.front() == ' ')
        presented.remove_prefix(1);
    if (!constant_time_equal(presented, token)) return "invalid bearer token";
    return std::nullopt;
}

http::handler bearer_auth::protect(http::handler h) const
{
    auto self = std::make_shared<const bearer_auth>(*this);
    auto inner = std::make_shared<const http::handler>(std::move(h));
    return [self, inner](const request& req) { return guarded(self, inner, req); };
}

} // namespace beamline::http
