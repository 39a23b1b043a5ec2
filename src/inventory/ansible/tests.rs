use super::*;
use crate::model::target::Target;

fn shown(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let options = match &e.target {
                Target::Ssh { options, .. } | Target::DockerContainer { options, .. } => options
                    .iter()
                    .map(|(k, v)| format!(" {k}={v}"))
                    .collect::<String>(),
                _ => String::new(),
            };
            format!(
                "{} {}{options} [{}]",
                e.name.as_deref().unwrap_or("-"),
                e.target,
                e.groups.join(",")
            )
        })
        .collect()
}

#[test]
fn ini_groups_children_vars_and_ranges() {
    let text = r#"
# the fleet
bastion.example.com ansible_user=admin

[web]
web[01:02].example.com ansible_user=deploy
web3 ansible_host=10.0.0.3 ansible_port=2222 ansible_ssh_private_key_file=/keys/web "ansible_become=yes"

[db]
db-[a:b] ansible_connection=docker

[web:vars]
ansible_user=www
ansible_port=2200

[prod:children]
web
db

[prod:vars]
ansible_port=22

[all:vars]
ansible_user=ops
"#;
    let got = shown(&parse(text, "hosts").unwrap());
    assert_eq!(
        got,
        [
            "bastion.example.com ssh://admin@bastion.example.com []",
            "web01.example.com ssh://deploy@web01.example.com:2200 [prod,web]",
            "web02.example.com ssh://deploy@web02.example.com:2200 [prod,web]",
            "web3 ssh://www@10.0.0.3:2222 identity=/keys/web sudo=true [prod,web]",
            "db-a docker://db-a user=ops [db,prod]",
            "db-b docker://db-b user=ops [db,prod]",
        ]
    );
}

#[test]
fn yaml_groups_children_and_vars() {
    let text = r#"
all:
  vars:
    ansible_user: ops
  hosts:
    localhost:
      ansible_connection: local
  children:
    web:
      hosts:
        web[1:2]:
        web9: { ansible_host: 192.0.2.9, ansible_port: 2222 }
      vars:
        ansible_user: deploy
    prod:
      children:
        web:
"#;
    let got = shown(&parse(text, "inventory.yml").unwrap());
    assert_eq!(
        got,
        [
            "localhost local []",
            "web1 ssh://deploy@web1 [prod,web]",
            "web2 ssh://deploy@web2 [prod,web]",
            "web9 ssh://deploy@192.0.2.9:2222 [prod,web]",
        ]
    );
}

#[test]
fn errors_name_the_file_line_and_host() {
    let e = parse("[web\nx\n", "hosts").unwrap_err();
    assert_eq!(e, "hosts:1: unclosed range in \"[web\"");
    let e = parse("[web]\nw1 ansible_connection=winrm\n", "hosts").unwrap_err();
    assert!(e.contains("host w1: ansible_connection \"winrm\""), "{e}");
    let e = parse("[web]\nw1 ansible_port=ssh\n", "hosts").unwrap_err();
    assert!(e.contains("is not a port number"), "{e}");
    let e = parse("[a:children]\nb\n[b:children]\na\n[a]\nh\n", "hosts").unwrap_err();
    assert!(e.contains("makes a loop"), "{e}");
    let e = parse("all:\n  hostz: {}\n", "inv.yaml").unwrap_err();
    assert!(e.contains("inv.yaml:2: unknown key \"hostz\""), "{e}");
}

#[test]
fn ranges_are_capped_as_a_product_and_in_total() {
    let e = parse("web[0:99999]-[0:99999]-[a:z].example.com\n", "inv").unwrap_err();
    assert!(e.contains("more than 100000"), "{e}");
    let many: String = (0..3).map(|i| format!("g{i}-[0:49999]\n")).collect();
    let e = parse(&many, "inv").unwrap_err();
    assert!(e.contains("more than 100000 hosts"), "{e}");
    assert_eq!(parse("w[1:3]-[a:b]\n", "inv").unwrap().len(), 6);
}

#[test]
fn detection() {
    assert!(looks_like("[web]\nw1\n", "hosts"));
    assert!(looks_like("all:\n  hosts:\n", "x"));
    assert!(looks_like("w1.example.com ansible_user=x\n", "hosts"));
    assert!(looks_like("w1.example.com\n", "hosts"));
    assert!(!looks_like(
        "# fleet\nssh://web1 name=web1\nlocal\n",
        "inv.txt"
    ));
}
