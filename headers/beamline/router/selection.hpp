#pragma once
// Choosing a provider for one request under a policy (SPEC §5 "Selection, in order"):
// sticky binding → fallback rules → weighted random → legacy fallback → decision_failed.
//
// Pure apart from the sticky store it is handed; the random draw, the clock and the breaker state
// come from the caller, so a choice can be replayed exactly.

#include <beamline/router/decision.hpp>
#include <beamline/router/policy.hpp>
#include <beamline/router/sticky_store.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace beamline::router
{

/// A non-owning view of a callable `bool(std::string_view provider)`; the callable must outlive
/// the call it is passed to. Empty means "never".
class provider_predicate
{
public:
    provider_predicate() = default;

    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, provider_predicate> &&
             std::is_invocable_r_v<bool, F&, std::string_view>) provider_predicate(F& f)
    noexcept // NOLINT: implicit on purpose, like a function_ref
        : object_(static_cast<const void*>(&f)),
          call_([](const void* o, std::string_view provider)
                { return static_cast<bool>((*static_cast<F*>(const_cast<void*>(o)))(provider)); })
    {
    }

    bool operator()(std::string_view provider) const { return call_ && call_(object_, provider); }
    explicit operator bool() const noexcept { return call_ != nullptr; }

private:
    const void* object_ = nullptr;
    bool (*call_)(const void*, std::string_view) = nullptr;
};

/// splitmix64: a small, fast, seedable generator for the weighted draw (not for secrets).
class selection_rng
{
public:
    explicit selection_rng(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t operator()() noexcept
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    std::uint64_t state_;
};

struct selection_request
{
    routing_context context; ///< request constraints merged with metadata (metadata wins)
    const constraints& limits;
    std::uint64_t random = 0;        ///< one uniform 64-bit draw, used only by the weighted step
    provider_predicate breaker_open; ///< true when the provider's circuit breaker is open
    sticky_store* sticky = nullptr;  ///< the tenant's store; null disables stickiness
    std::chrono::steady_clock::time_point now{};
};

/// A `decision_failed`: a summary plus one line per provider the policy names.
struct selection_failure
{
    std::string message;
    std::vector<exclusion> details;
};

using selection_result = boost::system::result<decision, selection_failure>;

[[noreturn]] void throw_exception_from_error(selection_failure const& e, boost::source_location const&);

/// Runs the steps in order. The sticky session value is the context's top-level `session_key`
/// entry when it is a string or an integer; anything else means "no session".
selection_result select_provider(const policy& pol, const selection_request& request);

/// Why `provider` cannot be chosen under these limits and breakers, or "" when it can. Exposed so
/// the admin surface can explain a policy ("dry run") the same way decision_failed does.
std::string exclusion_reason(const policy& pol, std::string_view provider, const constraints& limits,
                             provider_predicate breaker_open);

} // namespace beamline::router
