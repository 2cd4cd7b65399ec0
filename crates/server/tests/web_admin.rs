//! The admin page in a real browser (Debian's chromium): signing in with the form, adding a
//! user, making them an admin, deleting them, creating and revoking one's own API token, and
//! signing out.

mod browser;
mod common;

use browser::Browser;
use common::*;
use serde_json::json;

const USERS: &str = "return [...document.querySelectorAll('#users tr')].map(tr => ({
    name: tr.dataset.name,
    admin: tr.querySelector('.admin').textContent,
}))";

#[test]
fn admins_manage_users_and_tokens_on_the_admin_page() {
    let server = Server::start("");
    let (ok, _, err) = server.cli(
        &["user", "passwd", "admin", "--password-stdin"],
        "admin password\n",
    );
    assert!(ok, "{err}");
    let browser = Browser::start();
    browser.goto(&format!("{}/admin", server.base));

    // A wrong password is refused in the form; the right one signs in.
    let sign_in = |password: &str| {
        browser.run(
            "const f = document.querySelector('#signin');
             f.querySelector('[name=name]').value = 'admin';
             f.querySelector('[name=password]').value = arguments[0];
             f.requestSubmit();",
            json!([password]),
        );
    };
    browser.wait_for(
        "the sign-in form",
        "return !!document.querySelector('#signin')",
    );
    sign_in("wrong password");
    browser.wait_for(
        "the refusal",
        "return document.querySelector('#signin .error').textContent.includes('Wrong')",
    );
    sign_in("admin password");
    browser.wait_for(
        "the users table",
        &format!("{USERS}.some(u => u.name === 'admin')"),
    );

    // Add zoe, make her an admin, delete her.
    browser.run(
        "const f = document.querySelector('#add-user');
         f.querySelector('[name=name]').value = 'zoe';
         f.querySelector('[name=password]').value = 'zoes password';
         f.requestSubmit();",
        json!([]),
    );
    browser.wait_for("zoe's row", &format!("{USERS}.some(u => u.name === 'zoe')"));
    browser.run(
        "document.querySelector('#users tr[data-name=zoe] .actions button').click()",
        json!([]),
    );
    browser.wait_for(
        "zoe as an admin",
        &format!("{USERS}.some(u => u.name === 'zoe' && u.admin === 'yes')"),
    );
    let (_, users) = server.get("/api/users", &server.admin_token);
    let zoe = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "zoe")
        .unwrap()
        .clone();
    assert_eq!(zoe["is_admin"], true);
    browser.run(
        "window.confirm = () => true;
         document.querySelector('#users tr[data-name=zoe] button.danger').click()",
        json!([]),
    );
    browser.wait_for(
        "zoe gone",
        &format!("{USERS}.filter(u => u.name === 'zoe').length === 0 && document.querySelectorAll('#users tr').length > 0"),
    );
    let (_, users) = server.get("/api/users", &server.admin_token);
    assert!(
        !users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "zoe")
    );

    // A token: shown once, works, revoked.
    browser.run(
        "const f = document.querySelector('#add-token');
         f.querySelector('[name=label]').value = 'from the page';
         f.requestSubmit();",
        json!([]),
    );
    let token = browser.wait_for(
        "the new token",
        "return document.querySelector('#new-token code').textContent",
    );
    let token = token.as_str().unwrap().to_owned();
    assert_eq!(server.get("/api/me", &token).0, 200);
    browser.wait_for(
        "the token's row",
        "return [...document.querySelectorAll('#tokens .label')].some(t => t.textContent === 'from the page')",
    );
    browser.run(
        "[...document.querySelectorAll('#tokens tr')]
           .find(tr => tr.querySelector('.label').textContent === 'from the page')
           .querySelector('button').click()",
        json!([]),
    );
    browser.wait_for(
        "the token gone",
        "return ![...document.querySelectorAll('#tokens .label')].some(t => t.textContent === 'from the page')",
    );
    assert_eq!(server.get("/api/me", &token).0, 401);

    // Signing out brings the form back.
    browser.run("document.querySelector('#signout').click()", json!([]));
    browser.wait_for(
        "the sign-in form again",
        "return !!document.querySelector('#signin')",
    );
}
