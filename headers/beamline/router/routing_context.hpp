#pragma once
// The routing context a decision reads (sticky session keys, `when` conditions): a view, not a copy.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>

namespace beamline::router
{

/// The routing context of SPEC §4.1, the request's `constraints` with its `metadata` merged over
/// them (metadata wins on a shared key), looked up without being built. Views both objects, which
/// must outlive it; either may be null. A single object converts to a context of its own.
class routing_context
{
public:
    routing_context() = default;
    routing_context(const boost::json::object* constraints, const boost::json::object* metadata) noexcept
        : constraints_(constraints), metadata_(metadata)
    {
    }
    routing_context(const boost::json::object& context) noexcept : metadata_(&context) {} // NOLINT: implicit

    /// The top-level member `key`: metadata's if it has one, else constraints', else nullptr.
    const boost::json::value* find(std::string_view key) const noexcept
    {
        if (metadata_)
            if (const auto* v = metadata_->if_contains(key)) return v;
        return constraints_ ? constraints_->if_contains(key) : nullptr;
    }

private:
    const boost::json::object* constraints_ = nullptr;
    const boost::json::object* metadata_ = nullptr;
};

} // namespace beamline::router
