#!/bin/bash
# Gatehouse .deb post-install (electron-builder.yml deb.afterInstall). A custom script REPLACES
# electron-builder's default one, so the first part repeats its steps (app-builder-lib
# templates/linux/after-install.tpl, electron-builder 26.x); the Gatehouse part installs the udev rules.
# electron-builder substitutes the dollar-brace macros executable and sanitizedProductName; every other
# shell variable here is written without braces on purpose (an unknown macro fails the build).

if type update-alternatives >/dev/null 2>&1; then
    # Remove previous link if it doesn't use update-alternatives
    if [ -L '/usr/bin/${executable}' -a -e '/usr/bin/${executable}' -a "`readlink '/usr/bin/${executable}'`" != '/etc/alternatives/${executable}' ]; then
        rm -f '/usr/bin/${executable}'
    fi
    update-alternatives --install '/usr/bin/${executable}' '${executable}' '/opt/${sanitizedProductName}/${executable}' 100 || ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
else
    ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
fi

# SUID chrome-sandbox only on systems without working user namespaces.
if ! { [[ -L /proc/self/ns/user ]] && unshare --user true; }; then
    chmod 4755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
else
    chmod 0755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
fi

if hash update-mime-database 2>/dev/null; then
    update-mime-database /usr/share/mime || true
fi

if hash update-desktop-database 2>/dev/null; then
    update-desktop-database /usr/share/applications || true
fi

# AppArmor profile (Ubuntu 24+), only where this AppArmor supports it.
if apparmor_status --enabled > /dev/null 2>&1; then
  APPARMOR_PROFILE_SOURCE='/opt/${sanitizedProductName}/resources/apparmor-profile'
  APPARMOR_PROFILE_TARGET='/etc/apparmor.d/${executable}'
  if apparmor_parser --skip-kernel-load --debug "$APPARMOR_PROFILE_SOURCE" > /dev/null 2>&1; then
    cp -f "$APPARMOR_PROFILE_SOURCE" "$APPARMOR_PROFILE_TARGET"
    if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --replace --write-cache --skip-read-cache "$APPARMOR_PROFILE_TARGET"
    fi
  else
    echo "Skipping the installation of the AppArmor profile as this version of AppArmor does not seem to support the bundled profile"
  fi
fi

# --- Gatehouse: udev rules for the tag encoder and the IQ hub (build/linux/70-gatehouse.rules) ---
GATEHOUSE_RULES_SOURCE='/opt/${sanitizedProductName}/resources/udev/70-gatehouse.rules'
GATEHOUSE_RULES_TARGET='/etc/udev/rules.d/70-gatehouse.rules'
if [ -f "$GATEHOUSE_RULES_SOURCE" ] && [ -d /etc/udev/rules.d ]; then
  install -m 0644 "$GATEHOUSE_RULES_SOURCE" "$GATEHOUSE_RULES_TARGET"
  # Not in a chroot (image builds): there is no udev to tell.
  if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash udevadm 2>/dev/null; then
    udevadm control --reload-rules || true
    # Apply to devices that are already plugged in.
    udevadm trigger --subsystem-match=usb --attr-match=idVendor=072f || true
    udevadm trigger --subsystem-match=usb --attr-match=idVendor=1209 || true
  fi
fi
