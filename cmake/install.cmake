# What `cmake --install` puts where, and the Debian package CPack builds from it.
#
# Paths follow GNUInstallDirs, so they are decided when the build is configured: with
# CMAKE_INSTALL_PREFIX=/usr (what scripts/package.sh uses) the configuration goes to /etc and the
# state to /var/lib, as the FHS wants; with the default /usr/local prefix they stay under it.
# Only the daemon and what an operator needs are installed: no tests, benchmarks or test support.
set(BEAMLINE_PACKAGE_NAME beamline-router)
# Debian wants /usr/share/doc/<package>; GNUInstallDirs would name it after the CMake project
# (unless -DCMAKE_INSTALL_DOCDIR says otherwise).
if(NOT CMAKE_INSTALL_DOCDIR)
    set(CMAKE_INSTALL_DOCDIR share/doc/${BEAMLINE_PACKAGE_NAME})
endif()
include(GNUInstallDirs)
set(BEAMLINE_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit is installed, relative to the prefix")
set(BEAMLINE_SERVICE_USER ${BEAMLINE_PACKAGE_NAME} CACHE STRING "System user the service runs as")

# Absolute paths the unit file and the maintainer scripts are written with.
set(BEAMLINE_INSTALL_BIN ${CMAKE_INSTALL_FULL_BINDIR}/beamline_router)
set(BEAMLINE_INSTALL_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/${BEAMLINE_PACKAGE_NAME})
set(BEAMLINE_INSTALL_STATEDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/${BEAMLINE_PACKAGE_NAME})
set(BEAMLINE_INSTALL_LOGDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/log/${BEAMLINE_PACKAGE_NAME})
set(BEAMLINE_INSTALL_EXAMPLE_POLICIES ${CMAKE_INSTALL_FULL_DATADIR}/${BEAMLINE_PACKAGE_NAME}/policies)

install(TARGETS beamline_router RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES config/router.conf DESTINATION ${BEAMLINE_INSTALL_CONFDIR})
# The examples stay read-only under share/; the package seeds the service's policies directory
# (in /var/lib, written by the admin API) from them on first install.
install(DIRECTORY config/policies/ DESTINATION ${CMAKE_INSTALL_DATADIR}/${BEAMLINE_PACKAGE_NAME}/policies
        FILES_MATCHING PATTERN "*.json")
install(DIRECTORY config/prometheus config/grafana
        DESTINATION ${CMAKE_INSTALL_DATADIR}/${BEAMLINE_PACKAGE_NAME}
        PATTERN "*_test.yml" EXCLUDE)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

configure_file(packaging/beamline-router.service.in
               ${PROJECT_BINARY_DIR}/packaging/beamline-router.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/beamline-router.service DESTINATION ${BEAMLINE_SYSTEMD_UNITDIR})

# --- Debian package -------------------------------------------------------------------------------
set(debian_control)
foreach(script postinst prerm postrm)
    configure_file(packaging/debian/${script}.in ${PROJECT_BINARY_DIR}/packaging/debian/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
    list(APPEND debian_control ${PROJECT_BINARY_DIR}/packaging/debian/${script})
endforeach()
# dpkg keeps an operator's edits of a conffile across upgrades and asks before replacing it.
file(WRITE ${PROJECT_BINARY_DIR}/packaging/debian/conffiles "${BEAMLINE_INSTALL_CONFDIR}/router.conf\n")
list(APPEND debian_control ${PROJECT_BINARY_DIR}/packaging/debian/conffiles)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${BEAMLINE_PACKAGE_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "beamline-router maintainers <beamline-router@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "routing daemon choosing an AI provider per task over NATS")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "Gateways ask beamline-router over NATS which AI provider should handle a task. It answers\n"
    "from per-tenant policies, over mutual TLS, with health, Prometheus metrics and a systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps (dpkg-dev) turns the binary's NEEDED libraries into Depends: libssl3, libboost-*1.81.0.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nats-server")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${debian_control})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/packages)
include(CPack)
