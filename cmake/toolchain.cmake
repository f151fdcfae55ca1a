# Compiler launcher, warnings and sanitizers shared by every target.

find_program(BEAMLINE_CCACHE ccache)
if(BEAMLINE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_C_COMPILER_LAUNCHER ${BEAMLINE_CCACHE})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${BEAMLINE_CCACHE})
endif()

if(BEAMLINE_SANITIZE AND BEAMLINE_TSAN)
    message(FATAL_ERROR "BEAMLINE_SANITIZE and BEAMLINE_TSAN cannot be combined")
endif()
if(BEAMLINE_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
if(BEAMLINE_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "BEAMLINE_FUZZ needs clang (libFuzzer): configure with CXX=clang++ CC=clang")
    endif()
    if(BEAMLINE_SANITIZE OR BEAMLINE_TSAN)
        message(FATAL_ERROR "BEAMLINE_FUZZ brings its own sanitizers (ASan and UBSan)")
    endif()
    # Every library gets coverage instrumentation; only the fuzz targets link libFuzzer's main.
    # -fno-sanitize=function: clang 14 cannot emit its prefix data for coroutine functions together
    # with the coverage tables ("Cannot represent a difference across sections").
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                        -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()
if(BEAMLINE_TSAN)
    # GCC warns that TSan cannot see std::atomic_thread_fence (Asio's handler recycling and the
    # client use one); what TSan then misreads is classified in tests/tsan.supp, so the warning
    # must not fail a -Werror build.
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-error=tsan)
    add_link_options(-fsanitize=thread)
endif()

function(beamline_warnings target)
    # -Wshadow=local is GCC's; clang (the fuzz build) has no such option.
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
                                             -Wnon-virtual-dtor)
    if(BEAMLINE_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
