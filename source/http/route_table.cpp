#include "beamline/http/route_table.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace beamline::http
{
namespace
{

/// Splits "/a/b/c" into {"a","b","c"}; "/" gives {""}, so the root is a route of its own.
std::vector<std::string_view> split_path(std::string_view path)
{
    std::vector<std::string_view> out;
    path.remove_prefix(1);
    for (;;)
    {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) return out;
        path.remove_prefix(slash + 1);
    }
}

boost::asio::awaitable<response> run_sync(std::shared_ptr<const sync_handler> h, const request& req)
{
    co_return (*h)(req);
}

[[noreturn]] void bad_pattern(std::string_view pattern, std::string_view cause)
{
    throw std::invalid_argument("route '" + std::string(pattern) + "': " + std::string(cause));
}

} // namespace

handler make_handler(sync_handler h)
{
    // The sync handler lives in a shared_ptr passed by value into the coroutine frame, so the frame
    // never refers back to this wrapper's storage.
    auto shared = std::make_shared<const sync_handler>(std::move(h));
    return [shared](const request& req) { return run_sync(shared, req); };
}

void route_table::add(verb method, std::string_view pattern, handler h)
{
    if (pattern.empty() || pattern.front() != '/') bad_pattern(pattern, "must start with '/'");
    if (!h) bad_pattern(pattern, "handler is empty");
    route r{method, std::string(pattern), {}, 0, std::move(h)};
    for (auto part : split_path(pattern))
    {
        const bool opens = part.starts_with('{');
        const bool closes = part.ends_with('}');
        if (opens != closes || (opens && part.size() < 3))
            bad_pattern(pattern, "parameters are written {name}");
        if (opens)
        {
            std::string name(part.substr(1, part.size() - 2));
            for (const auto& s : r.segments)
                if (s.is_param && s.text == name)
                    bad_pattern(pattern, "parameter {" + name + "} appears twice");
            r.segments.push_back({std::move(name), true});
        }
        else
        {
            r.segments.push_back({std::string(part), false});
            ++r.literal_count;
        }
    }
    for (const auto& existing : routes_)
        if (existing.method == method && existing.pattern == r.pattern)
            bad_pattern(pattern,
                        "registered twice for " + std::string(boost::beast::http::to_string(method)));
    routes_.push_back(std::move(r));
}

std::variant<route_table::match, response> route_table::resolve(verb method, std::string_view path) const
{
    if (path.empty() || path.front() != '/')
        return error_response(status::bad_request, "bad_request", "request target must be an absolute path");
    const auto parts = split_path(path);

    const route* best = nullptr;
    const route* best_get = nullptr; // for HEAD without a HEAD route
    std::vector<verb> allowed;
    for (const auto& r : routes_)
    {
        if (r.segments.size() != parts.size()) continue;
        bool matches = true;
        for (std::size_t i = 0; i < parts.size() && matches; ++i)
            matches = r.segments[i].is_param ? !parts[i].empty() : r.segments[i].text == parts[i];
        if (!matches) continue;
        if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) allowed.push_back(r.method);
        // The most literal pattern wins, so `/v1/policies/reload` beats `/v1/policies/{tenant}`.
        if (r.method == method && (!best || r.literal_count > best->literal_count)) best = &r;
        if (r.method == verb::get && (!best_get || r.literal_count > best_get->literal_count)) best_get = &r;
    }

    bool head_as_get = false;
    if (!best && method == verb::head && best_get)
    {
        best = best_get;
        head_as_get = true;
    }
    if (!best)
    {
        if (allowed.empty())
            return error_response(status::not_found, "not_found", "no resource at " + std::string(path));
        if (std::find(allowed.begin(), allowed.end(), verb::get) != allowed.end() &&
            std::find(allowed.begin(), allowed.end(), verb::head) == allowed.end())
            allowed.push_back(verb::head);
        std::sort(allowed.begin(), allowed.end(),
                  [](verb a, verb b)
                  { return boost::beast::http::to_string(a) < boost::beast::http::to_string(b); });
        std::string allow;
        for (auto v : allowed)
        {
            if (!allow.empty()) allow += ", ";
            allow += boost::beast::http::to_string(v);
        }
        auto res = error_response(status::method_not_allowed, "method_not_allowed",
                                  std::string(boost::beast::http::to_string(method)) + " is not allowed on " +
                                      std::string(path) + "; allowed: " + allow);
        res.headers.emplace_back("Allow", std::move(allow));
        return res;
    }

    match m{&best->handler, {}, head_as_get};
    for (std::size_t i = 0; i < parts.size(); ++i)
    {
        if (!best->segments[i].is_param) continue;
        auto decoded = percent_decode(parts[i]);
        if (!decoded)
            return error_response(status::bad_request, "bad_request",
                                  "malformed percent-encoding in path parameter {" + best->segments[i].text +
                                      "}");
        m.params.emplace_back(best->segments[i].text, std::move(*decoded));
    }
    return m;
}

} // namespace beamline::http
