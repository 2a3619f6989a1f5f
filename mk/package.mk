# mk/package.mk — the Debian packages (debian/).
#
#   make deb             the packages in build/deb/ (mk/build-deb.sh)
#   make package-check   make deb, then lint, install, upgrade, use and purge
#                        them on this machine (tests/package/check-packages.sh;
#                        root, on a throwaway machine such as CI)
#
# Always build/deb, also under SANITIZE=1: the packages are built from a copy
# of the tree with Debian's flags, not from this build.
DEB_DIR := build/deb

.PHONY: deb package-check

deb:
	@sh mk/build-deb.sh $(DEB_DIR) $(VERSION)

package-check: deb
	@sh tests/package/check-packages.sh $(DEB_DIR)
