from signing.cli import main

raise SystemExit(main())
