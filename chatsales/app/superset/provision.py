"""Run by .venv-superset/bin/python (stdlib and Superset only): migrate the metadata DB,
sync Superset's built-in roles, then create or update our roles and users. Idempotent.

    provision.py setup|users < spec.json

spec: {"admin": {"username", "password"},
       "users": [{"username", "password", "role", "first_name", "last_name"}]}
`setup` also runs what `superset db upgrade` and `superset init` do, in this one process.
"""

import json
import sys

READ_ONLY_ROLES = ("Sales head", "Manager")
# Gamma can create and edit charts and dashboards; our viewers only read them.
DROPPED_FROM_GAMMA = {("can_write", "Chart"), ("can_write", "Dashboard")}


def migrate_and_init(appbuilder, security_manager):
    import flask_migrate

    flask_migrate.upgrade()
    appbuilder.add_permissions(update_perms=True)
    security_manager.sync_role_definitions()


def sync_roles(sm):
    """Gamma's read permissions plus every dataset; rows are narrowed by RLS, not here."""
    gamma = sm.find_role("Gamma")
    base = [
        pvm
        for pvm in gamma.permissions
        if (pvm.permission.name, pvm.view_menu.name) not in DROPPED_FROM_GAMMA
    ]
    every_dataset = sm.add_permission_view_menu("all_datasource_access", "all_datasource_access")
    for name in READ_ONLY_ROLES:
        role = sm.find_role(name) or sm.add_role(name)
        role.permissions = [*base, every_dataset]


def sync_user(sm, username, password, role_name, first_name, last_name):
    role = sm.find_role(role_name)
    user = sm.find_user(username=username)
    if user is None:
        email = f"{username}@chatsales.invalid"
        sm.add_user(username, first_name, last_name, email, [role], password=password)
        return "created"
    user.roles, user.active = [role], True
    user.first_name, user.last_name = first_name, last_name
    sm.update_user(user)
    sm.reset_password(user.id, password)
    return "updated"


def main(command, spec):
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import appbuilder, db, security_manager

        if command == "setup":
            migrate_and_init(appbuilder, security_manager)
        sync_roles(security_manager)
        admin = spec["admin"]
        users = [
            {**admin, "role": "Admin", "first_name": "Superset", "last_name": "Admin"},
            *spec["users"],
        ]
        for user in users:
            state = sync_user(
                security_manager,
                user["username"],
                user["password"],
                user["role"],
                user["first_name"],
                user["last_name"],
            )
            print(f"{state}: {user['username']} ({user['role']})")
        db.session.commit()


if __name__ == "__main__":
    main(sys.argv[1], json.load(sys.stdin))
