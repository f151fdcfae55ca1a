#pragma once
// Identifier formats of the decide contract: generation of UUID v4, W3C trace and span ids from an
// injected random source (so tests are deterministic), and the validators intake applies.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace beamline::router
{

/// A non-owning reference to any callable returning 64 random bits (a `std::mt19937_64`, a
/// test's scripted sequence, ...). The referenced callable must outlive the reference.
class random_ref
{
public:
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, random_ref> && std::is_invocable_r_v<std::uint64_t, F&>)
        random_ref(F& f)
    noexcept // NOLINT(google-explicit-constructor): passed like a reference
        : object_(static_cast<void*>(&f)),
          call_([](void* o) -> std::uint64_t { return (*static_cast<F*>(o))(); })
    {
    }

    std::uint64_t operator()() const { return call_(object_); }

private:
    void* object_;
    std::uint64_t (*call_)(void*);
};

/// Appends a UUID v4 (lowercase, 8-4-4-4-12) built from two random words; version and variant
/// bits are forced, the other 122 bits come from `hi`/`lo`.
void append_uuid_v4(std::string& out, std::uint64_t hi, std::uint64_t lo);
std::string make_uuid_v4(random_ref rng);

/// 16 lowercase hex, never all zeros (W3C parent-id).
std::string make_span_id(random_ref rng);
/// 32 lowercase hex, never all zeros (W3C trace-id).
std::string make_trace_id(random_ref rng);

/// 8-4-4-4-12 hex digits, either case, any version.
bool is_uuid(std::string_view s) noexcept;
/// 26 Crockford base32 characters (either case, no I L O U), first one ≤ '7' so it fits 128 bits.
bool is_ulid(std::string_view s) noexcept;
/// A trace id the contract accepts: 32 hex digits (W3C) or a UUID, either case, not all zeros.
bool is_trace_id(std::string_view s) noexcept;
/// The W3C form of an accepted trace id: dashes removed, lowercase. Precondition: is_trace_id(s).
std::string to_w3c_trace_id(std::string_view s);
/// `[A-Za-z0-9_.-]{1,64}`: the charset of tenant and policy ids (safe in paths and metric labels).
bool is_tenant_or_policy_id(std::string_view s) noexcept;

/// A W3C `traceparent` header, views into the parsed text.
struct traceparent
{
    std::string_view version;
    std::string_view trace_id;
    std::string_view parent_id;
    std::string_view flags;
};

/// Parses `traceparent` per W3C Trace Context: lowercase hex, version ≠ "ff", version 00 is exactly
/// 55 characters (later versions may append `-...`), trace id and parent id not all zeros.
std::optional<traceparent> parse_traceparent(std::string_view s) noexcept;

/// `00-<trace>-<span>-01`. Preconditions: 32 and 16 lowercase hex.
std::string format_traceparent(std::string_view trace_id32, std::string_view span_id16);

} // namespace beamline::router
