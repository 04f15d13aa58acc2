// esbuild bundles imported stylesheets into the one hashed CSS file.
declare module '*.css';
